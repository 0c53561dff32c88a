// The primary's /metrics when several workers run: each worker's Prometheus text, summed
// series by series, so the relay reads as one process (as it would to a scraper that
// cannot know about workers). Counters, histogram buckets and queue gauges add up; a
// process gauge such as memory is the total over the workers.

interface Family {
  header: string[];
  series: Map<string, number>;
}

/** The sum of Prometheus text expositions: series with the same name and labels add up. */
export function mergePrometheus(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  for (const text of texts) {
    let current: Family | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('#')) {
        const m = /^# (HELP|TYPE) (\S+)/.exec(line);
        if (!m) continue;
        let f = families.get(m[2]);
        if (!f) families.set(m[2], (f = { header: [], series: new Map() }));
        if (f.header.length < 2 && !f.header.some((h) => h.startsWith(`# ${m[1]} `))) f.header.push(line);
        current = f;
        continue;
      }
      const cut = line.lastIndexOf(' ');
      if (cut <= 0) continue;
      const key = line.slice(0, cut);
      const value = parseSample(line.slice(cut + 1));
      if (!current) families.set(key, (current = { header: [], series: new Map() }));
      current.series.set(key, (current.series.get(key) ?? 0) + value);
    }
  }
  let out = '';
  for (const f of families.values()) {
    for (const h of f.header) out += h + '\n';
    for (const [key, v] of f.series) out += `${key} ${formatSample(v)}\n`;
    out += '\n';
  }
  return out;
}

function parseSample(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

function formatSample(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
