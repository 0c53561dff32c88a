// Receiver TLS: a server certificate and key, and optionally a CA whose client
// certificates are required (mutual TLS). Files are read at start; a missing or
// unreadable file stops the relay from starting with a message naming it.
import * as fs from 'node:fs';
import { s, type Schema, type SchemaType } from '../config/schema';

const optional = <T>(sch: Schema<T>): Schema<T | undefined> => sch;

export const serverTlsSchema = s.object(
  {
    cert_file: optional(s.string({ nonEmpty: true })),
    key_file: optional(s.string({ nonEmpty: true })),
    /** CA bundle for client certificates: when set, clients must present a certificate it signed. */
    client_ca_file: optional(s.string({ nonEmpty: true })),
  },
  {
    validate(v, path, ctx) {
      if ((v.cert_file === undefined) !== (v.key_file === undefined))
        ctx.issues.push({ path: [...path, v.cert_file === undefined ? 'cert_file' : 'key_file'], severity: 'error', message: 'cert_file and key_file must be set together' });
      if (v.client_ca_file !== undefined && v.cert_file === undefined)
        ctx.issues.push({ path: [...path, 'client_ca_file'], severity: 'error', message: 'mutual TLS needs cert_file and key_file too' });
    },
  },
);

export type ServerTlsConfig = SchemaType<typeof serverTlsSchema>;

export interface ServerTlsFiles {
  cert: Buffer;
  key: Buffer;
  clientCa?: Buffer;
}

/** The PEM files of a TLS config, or undefined when TLS is off. */
export function readServerTls(tls: ServerTlsConfig): ServerTlsFiles | undefined {
  if (tls.cert_file === undefined || tls.key_file === undefined) return undefined;
  const read = (key: string, file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new Error(`tls.${key}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  return {
    cert: read('cert_file', tls.cert_file),
    key: read('key_file', tls.key_file),
    ...(tls.client_ca_file !== undefined ? { clientCa: read('client_ca_file', tls.client_ca_file) } : {}),
  };
}
