// ${env:VAR} and ${env:VAR:-default} expansion, applied to string values after the
// YAML is parsed (as the Collector does), so a value can never change the
// structure of the document. `$$` stands for a literal `$`.
const REF = /\$\$|\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function expandEnv(
  value: string,
  env: NodeJS.ProcessEnv,
  onMissing: (name: string) => void,
): string {
  if (!value.includes('$')) return value;
  return value.replace(REF, (whole, name: string | undefined, def: string | undefined) => {
    if (whole === '$$') return '$';
    const v = env[name!];
    if (v !== undefined && v !== '') return v;
    if (def !== undefined) return def;
    onMissing(name!);
    return '';
  });
}

/** A `${...}` reference that is not `${env:NAME}` or `${env:NAME:-default}`. */
export function badReference(value: string): string | undefined {
  const m = /\$\{(?!env:[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\})[^}]*\}?/.exec(value.replace(/\$\$/g, ''));
  return m?.[0];
}
