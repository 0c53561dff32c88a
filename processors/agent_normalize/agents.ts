// Which coding agent sent a resource's data. The service name is the first clue;
// the instrumentation scope is the second, for users who renamed their service
// (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) but kept the agent's own SDK.
import type { KeyValue, Scope } from '../../src/otlp/model';
import { findAttribute, stringOf } from '../../src/conditions';

export const AGENTS = ['claude_code', 'codex', 'gemini_cli'] as const;
export type Agent = (typeof AGENTS)[number];

/** The attribute that names the agent (on the resource by default). */
export const AGENT_NAME_KEY = 'agent.name';

// Codex names its service after the front end that runs it: codex_exec, codex_cli_rs,
// codex-app-server (the shared daemon), and more may follow; all start with "codex".
const CODEX_SERVICE = /^codex(?:[_-]|$)/;

function fromServiceName(name: string): Agent | undefined {
  if (name === 'claude-code') return 'claude_code';
  if (name === 'gemini-cli') return 'gemini_cli';
  if (CODEX_SERVICE.test(name)) return 'codex';
  return undefined;
}

function fromScopeName(name: string): Agent | undefined {
  // Claude Code: com.anthropic.claude_code.events (logs), com.anthropic.claude_code (metrics).
  if (name.startsWith('com.anthropic.claude_code')) return 'claude_code';
  // Gemini CLI: gemini-cli (logs, metrics), gemini-cli@v1 is that name with version v1 (traces).
  if (name === 'gemini-cli') return 'gemini_cli';
  // Codex: codex_otel.log_only, codex_otel::metrics::client, codex (metrics), and the service name (traces).
  if (name === 'codex' || name.startsWith('codex_otel') || CODEX_SERVICE.test(name)) return 'codex';
  return undefined;
}

export interface AgentDetector {
  (resourceAttrs: KeyValue[] | undefined, scopes: readonly (Scope | null | undefined)[]): Agent | undefined;
}

/**
 * Builds the detector. `extra` maps further service names (a wrapper's, a renamed
 * service) to an agent; it is consulted before the built-in names.
 */
export function agentDetector(extra: Readonly<Record<string, Agent>>): AgentDetector {
  const extraMap = new Map(Object.entries(extra));
  return (resourceAttrs, scopes) => {
    // A resource that already says which agent it is (set by the user or an earlier relay) is believed.
    const own = stringOf(findAttribute(resourceAttrs, AGENT_NAME_KEY) ?? undefined);
    if (own && (AGENTS as readonly string[]).includes(own)) return own as Agent;
    const service = stringOf(findAttribute(resourceAttrs, 'service.name') ?? undefined);
    if (service) {
      const a = extraMap.get(service) ?? fromServiceName(service);
      if (a) return a;
    }
    for (const sc of scopes) {
      const a = sc?.name ? fromScopeName(sc.name) : undefined;
      if (a) return a;
    }
    return undefined;
  };
}
