// Receiver authentication: a request must carry one of the configured tokens,
// either as `Authorization: Bearer <token>` (the default) or as the whole value of
// another header (`header: x-api-key`). Tokens come from the config (use
// ${env:NAME}) and/or from a file with one token per line, re-read when it
// changes so that a mounted secret can be rotated without a restart.
//
// Every check compares against every token in constant time: SHA-256 digests of
// equal length are compared with timingSafeEqual, and the loop never stops early,
// so neither a token's length nor its position leaks through timing.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import { s, type SchemaType } from '../config/schema';

export const authSchema = s.object({
  /** One token (the original key; kept). */
  bearer_token: s.string({ default: '' }),
  /** Several tokens, any of which is accepted (e.g. old and new during a rotation). */
  bearer_tokens: s.list(s.string({ nonEmpty: true }), { default: [] }),
  /** A file with one token per line (blank lines and lines starting with # are skipped). */
  tokens_file: s.string({ default: '' }),
  /** The header that carries the token: `authorization` expects `Bearer <token>`; any other header holds the token alone. */
  header: s.string({ default: 'authorization', nonEmpty: true }),
});

export type AuthConfig = SchemaType<typeof authSchema>;

const digest = (v: string) => crypto.createHash('sha256').update(v, 'utf8').digest();

/** How often a tokens_file is looked at for changes. */
const FILE_POLL_MS = 5000;

export class Authenticator {
  readonly header: string;
  private readonly bearer: boolean;
  private configured: Buffer[];
  private fromFile: Buffer[] = [];
  private watching = false;

  constructor(private readonly cfg: AuthConfig, private readonly logger: Logger) {
    this.header = cfg.header.toLowerCase();
    this.bearer = this.header === 'authorization';
    this.configured = [cfg.bearer_token, ...cfg.bearer_tokens].filter((t) => t !== '').map(digest);
  }

  /** True when requests must carry a token. */
  get enabled(): boolean {
    return this.configured.length > 0 || this.cfg.tokens_file !== '';
  }

  /** Reads the tokens file (throws when it cannot be read) and starts watching it for changes. */
  start(): void {
    if (!this.cfg.tokens_file) return;
    this.fromFile = this.readFile();
    if (this.fromFile.length === 0) this.logger.warn({ file: this.cfg.tokens_file }, 'auth: the tokens file holds no token: every request will be refused');
    if (this.watching) return;
    this.watching = true;
    fs.watchFile(this.cfg.tokens_file, { interval: FILE_POLL_MS, persistent: false }, () => {
      try {
        this.fromFile = this.readFile();
        this.logger.info({ file: this.cfg.tokens_file, tokens: this.fromFile.length }, 'auth: tokens file reloaded');
      } catch (e) {
        // Keep the tokens we had: a file being replaced may be briefly missing.
        this.logger.warn({ file: this.cfg.tokens_file, err: (e as Error).message }, 'auth: cannot reload the tokens file; keeping the tokens read before');
      }
    });
  }

  stop(): void {
    if (this.watching) fs.unwatchFile(this.cfg.tokens_file);
    this.watching = false;
  }

  /** Whether the header's value carries an accepted token (always true with auth off). */
  check(value: string | undefined): boolean {
    if (!this.enabled) return true;
    let token: string | undefined = value?.trim();
    if (token !== undefined && this.bearer) {
      const m = /^Bearer\s+(.+)$/i.exec(token);
      token = m ? m[1].trim() : undefined;
    }
    const got = digest(token ?? '');
    let ok = false;
    for (const want of this.configured) ok = crypto.timingSafeEqual(got, want) || ok;
    for (const want of this.fromFile) ok = crypto.timingSafeEqual(got, want) || ok;
    return ok && token !== undefined && token !== '';
  }

  private readFile(): Buffer[] {
    let text: string;
    try {
      text = fs.readFileSync(this.cfg.tokens_file, 'utf8');
    } catch (e) {
      throw new Error(`auth.tokens_file: cannot read ${this.cfg.tokens_file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map(digest);
  }
}
