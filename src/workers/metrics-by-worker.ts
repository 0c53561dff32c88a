// The primary's /metrics when several workers run: every worker's Prometheus text, each
// series labelled with its worker, under one HELP and TYPE per metric. Labelled rather
// than summed: a worker that is replaced starts its counters again from zero, which
// Prometheus reads as a reset of that worker's series, while a sum would go backwards
// for everyone; and a gauge such as memory_limiter_refusing keeps its 0/1 meaning.

interface Family {
  header: string[];
  samples: string[];
}

/** One exposition from several: `texts[i]` is worker i's; its series get worker="i". */
export function labelByWorker(texts: readonly (string | undefined)[]): string {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { header: [], samples: [] }));
    return f;
  };
  texts.forEach((text, worker) => {
    if (!text) return;
    let current: Family | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('#')) {
        const m = /^# (HELP|TYPE) (\S+)/.exec(line);
        if (!m) continue;
        current = family(m[2]);
        if (!current.header.some((h) => h.startsWith(`# ${m[1]} `))) current.header.push(line);
        continue;
      }
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{?)/.exec(line);
      if (!m) continue;
      const label = `worker="${worker}"`;
      const rest = line.slice(m[1].length);
      const sample = m[2] ? `${m[1]}{${label},${rest.slice(1)}` : `${m[1]}{${label}}${rest}`;
      (current ?? family(m[1])).samples.push(sample.replace(`{${label},}`, `{${label}}`));
    }
  });
  let out = '';
  for (const f of families.values()) out += [...f.header, ...f.samples].join('\n') + '\n\n';
  return out;
}
