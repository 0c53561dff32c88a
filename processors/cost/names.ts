// Attribute names the cost processor writes and the cost connector reads.

/** The cost of the request in USD, the name and meaning Claude Code gives it on api_request. */
export const COST_USD = 'cost_usd';
/** The relay's own figure beside an agent's cost_usd (recompute mode). */
export const RECOMPUTED_COST_USD = 'agentrelay.cost_usd';
/** true on a token-count event whose model has no price in the table. */
export const UNPRICED = 'agentrelay.cost_unpriced';
