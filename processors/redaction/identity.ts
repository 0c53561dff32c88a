// Keyed hashing (HMAC-SHA256) for the `hash` action and for pseudonymizing identities.
// The key comes from the config, so the same value maps to the same output on every
// restart and on every relay that shares the key, while someone without the key can
// neither read it back nor test guesses against it. The two uses are domain-separated,
// so a prompt that happens to equal an email address does not get its pseudonym.
import { createHmac } from 'node:crypto';

/** Hex digits kept from the 256-bit MAC: 128 bits, ample against collisions among users or prompts. */
const HEX_LENGTH = 32;
/** Prefix of hashed content, so a reader knows the field was hashed and not written so. */
export const HASH_PREFIX = 'hmac:';
const HASHED = /^hmac:[0-9a-f]{32}$/;

export class Hasher {
  constructor(private readonly key: Buffer) {}

  private mac(domain: string, value: string): string {
    return createHmac('sha256', this.key).update(domain).update('\0').update(value, 'utf8').digest('hex').slice(0, HEX_LENGTH);
  }

  /** The `hash` action's output: `hmac:` and 32 hex digits. */
  content(value: string): string {
    return HASH_PREFIX + this.mac('content', value);
  }

  /** True for a value that is already an output of content() (a relay behind another). */
  static isHashed(value: string): boolean {
    return HASHED.test(value);
  }

  /**
   * A stable pseudonym for an identity. Email addresses are compared without case;
   * with keepDomain the domain stays readable (`3f9a…@example.com`) for per-team grouping.
   */
  pseudonym(value: string, keepDomain: boolean): string {
    const at = value.lastIndexOf('@');
    const email = at > 0 && at < value.length - 1 && !/\s/.test(value);
    if (!email) return this.mac('identity', value);
    const lower = value.toLowerCase();
    const id = this.mac('identity', lower);
    return keepDomain ? `${id}@${lower.slice(at + 1)}` : id;
  }
}
