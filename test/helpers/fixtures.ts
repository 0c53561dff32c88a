// The recorded agent payloads in ../shared/fixtures/agents, found by walking the folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Signal } from '../../src/otlp/schema';

export const FIXTURES_DIR = process.env.AGENT_FIXTURES ?? path.resolve(__dirname, '../../../../shared/fixtures/agents');

export interface Fixture {
  name: string;
  file: string;
  signal: Signal;
  format: 'json' | 'proto';
}

export function listFixtures(): Fixture[] {
  const out: Fixture[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(json|pb)$/.test(e.name)) {
        const m = /(logs|metrics|traces)\.(json|pb)$/.exec(e.name);
        if (!m) continue;
        out.push({
          name: path.relative(FIXTURES_DIR, p),
          file: p,
          signal: m[1] as Signal,
          format: m[2] === 'pb' ? 'proto' : 'json',
        });
      }
    }
  };
  walk(FIXTURES_DIR);
  return out;
}
