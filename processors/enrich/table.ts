// The lookup file of enrich, parsed into rows: key (lower-cased) -> attributes to add.
// Two formats, chosen by the file's extension (or lookup.format):
//   CSV   a header row; the first column holds the key, every other column names an
//         attribute; an empty cell adds nothing for that row.
//   YAML  a map of key -> map of attribute -> scalar (JSON is YAML too).
// Errors name a line or an entry number, never a key: keys are e-mail addresses and ids.
import { parse as parseYaml } from 'yaml';
import type { AnyValue } from '../../src/otlp/model';

export type Row = ReadonlyMap<string, AnyValue>;
export type Table = ReadonlyMap<string, Row>;
export type TableFormat = 'csv' | 'yaml';

export class TableError extends Error {}

/** The format a path's extension implies, or undefined. */
export function formatOf(path: string): TableFormat | undefined {
  const ext = /\.([a-z]+)$/i.exec(path)?.[1]?.toLowerCase();
  if (ext === 'csv') return 'csv';
  if (ext === 'yaml' || ext === 'yml' || ext === 'json') return 'yaml';
  return undefined;
}

/** An AnyValue for a scalar from a config or lookup file. */
export function anyValueOf(v: string | number | boolean): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
}

export function parseTable(text: string, format: TableFormat): Table {
  return format === 'csv' ? parseCsvTable(text) : parseYamlTable(text);
}

/** RFC 4180 records: comma-separated, fields optionally in double quotes ("" for a quote), LF or CRLF. */
export function parseCsv(text: string): { fields: string[]; line: number }[] {
  const out: { fields: string[]; line: number }[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a BOM, as spreadsheets write
  let line = 1;
  while (i < text.length) {
    const startLine = line;
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) throw new TableError(`line ${startLine}: a quoted field is not closed`);
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r')
          throw new TableError(`line ${line}: text after a closing quote`);
      } else {
        const start = i;
        while (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          if (text[i] === '"') throw new TableError(`line ${line}: a quote inside an unquoted field`);
          i++;
        }
        field = text.slice(start, i);
      }
      fields.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') {
      i++;
      line++;
    }
    // Blank lines are skipped.
    if (!(fields.length === 1 && fields[0].trim() === '')) out.push({ fields, line: startLine });
  }
  return out;
}

function parseCsvTable(text: string): Table {
  const rows = parseCsv(text);
  if (rows.length === 0) throw new TableError('the file is empty: it needs a header row');
  const header = rows[0].fields.map((h) => h.trim());
  if (header.length < 2) throw new TableError('line 1: the header needs the key column and at least one attribute column');
  header.forEach((h, i) => {
    if (h === '') throw new TableError(`line 1: column ${i + 1} has no name`);
    if (header.indexOf(h) !== i) throw new TableError(`line 1: column "${h}" appears twice`);
  });
  const table = new Map<string, Row>();
  for (const { fields, line } of rows.slice(1)) {
    if (fields.length !== header.length) throw new TableError(`line ${line}: ${fields.length} fields, the header has ${header.length}`);
    const key = fields[0].trim().toLowerCase();
    if (key === '') throw new TableError(`line ${line}: the key is empty`);
    if (table.has(key)) throw new TableError(`line ${line}: the key of this row is already used by an earlier row`);
    const row = new Map<string, AnyValue>();
    for (let c = 1; c < header.length; c++) if (fields[c] !== '') row.set(header[c], { stringValue: fields[c] });
    table.set(key, row);
  }
  return table;
}

function parseYamlTable(text: string): Table {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    // The yaml library's message quotes the line; keep only its position.
    const pos = (e as { linePos?: { line: number }[] }).linePos?.[0];
    throw new TableError(`not valid YAML${pos ? ` (line ${pos.line})` : ''}`);
  }
  if (doc === null || doc === undefined) return new Map();
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new TableError('expected a map of key -> attributes at the top');
  const table = new Map<string, Row>();
  let n = 0;
  for (const [rawKey, attrs] of Object.entries(doc as Record<string, unknown>)) {
    n++;
    const key = rawKey.trim().toLowerCase();
    if (key === '') throw new TableError(`entry ${n}: the key is empty`);
    if (table.has(key)) throw new TableError(`entry ${n}: the key is already used by an earlier entry (keys are matched without regard to case)`);
    if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) throw new TableError(`entry ${n}: expected a map of attribute -> value`);
    const row = new Map<string, AnyValue>();
    for (const [attr, v] of Object.entries(attrs as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
        throw new TableError(`entry ${n}: attribute "${attr}" must be a string, number or boolean`);
      row.set(attr, anyValueOf(v));
    }
    table.set(key, row);
  }
  return table;
}
