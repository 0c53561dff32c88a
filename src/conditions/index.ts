// The one condition syntax of the relay (see README.md in this folder): compiled once
// at start-up into predicates that processors, connectors and config tests run per record.
import { s, Schema } from '../config/schema';
import { compileCondition, Condition } from './compile';

export { compileCondition, eventNameTest, severityFromName } from './compile';
export type { Condition, RecordContext } from './compile';
export { attributeValue, eventNameOf, findAttribute, int64Number, int64Value, parseNumeric, plainValue, scalarOf, stringOf } from './values';
export type { Scalar } from './values';

/** A schema for config fields holding a condition (uses s.custom). */
export const conditionSchema: Schema<Condition> = s.custom<Condition>(
  'condition (attribute/field + operator, event, severity_at_least, all/any/not)',
  compileCondition,
);
