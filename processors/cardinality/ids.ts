// Small integer ids for the long identity strings of metric state (resource keys,
// scope and metric keys, attributes). Each distinct string is held once, however
// many series refer to it, and series are then keyed by numbers: agents send the
// same attributes under many resources and in many combinations (a session id on
// every series of the session), and one resource has many series. An id is freed
// with its last reference and reused, so ids stay below the number of live keys.
import type { KeyValue } from '../../src/otlp/model';
import { valueKey } from './keys';

/** Ids below this combine two into one exact number (2^26 * 2^26 < 2^53). */
const PAIR_BASE = 0x4000000;

/** The key of a pair of ids: one number while both are small, else a string. */
export function pairKey(a: number, b: number): number | string {
  return a < PAIR_BASE && b < PAIR_BASE ? a * PAIR_BASE + b : a + ':' + b;
}

/** The two ids of a pair key. */
export function splitPair(k: number | string): [number, number] {
  if (typeof k === 'number') {
    const a = Math.floor(k / PAIR_BASE);
    return [a, k - a * PAIR_BASE];
  }
  const at = k.indexOf(':');
  return [Number(k.slice(0, at)), Number(k.slice(at + 1))];
}

/** Reference-counted ids for keys. */
export class Interner<K extends string | number> {
  private readonly ids = new Map<K, number>();
  private readonly keys: (K | undefined)[] = [];
  private readonly refs: number[] = [];
  private readonly free: number[] = [];

  get size(): number {
    return this.ids.size;
  }

  /** The id of a key already held, without taking a reference. */
  find(key: K): number | undefined {
    return this.ids.get(key);
  }

  /** The id of a key, taking a reference (the caller releases it). */
  acquire(key: K): number {
    let id = this.ids.get(key);
    if (id !== undefined) {
      this.refs[id]++;
      return id;
    }
    id = this.free.length > 0 ? this.free.pop()! : this.keys.length;
    this.ids.set(key, id);
    this.keys[id] = key;
    this.refs[id] = 1;
    return id;
  }

  /** Takes another reference to a held id. */
  retain(id: number): number {
    this.refs[id]++;
    return id;
  }

  /** Drops a reference; true when it was the last (the id is then free). */
  release(id: number): boolean {
    if (--this.refs[id] > 0) return false;
    this.ids.delete(this.keys[id]!);
    this.keys[id] = undefined;
    this.refs[id] = 0;
    this.free.push(id);
    return true;
  }

  keyOf(id: number): K {
    return this.keys[id]!;
  }
}

/**
 * Ids of stream groups (resource, scope and metric). The resource key, the long
 * part, is held once per resource; a group is the pair of its resource's id and
 * the id of its scope-and-metric key, which many resources share.
 */
export class GroupIds {
  private readonly resources = new Interner<string>();
  private readonly families = new Interner<string>();
  private readonly groups = new Interner<number | string>();

  /** The id of a group already held, or undefined. */
  find(resourceKey: string, familyKey: string): number | undefined {
    const r = this.resources.find(resourceKey);
    if (r === undefined) return undefined;
    const f = this.families.find(familyKey);
    if (f === undefined) return undefined;
    return this.groups.find(pairKey(r, f));
  }

  /** The id of a group, taking a reference (the caller releases it). */
  acquire(resourceKey: string, familyKey: string): number {
    const r = this.resources.acquire(resourceKey);
    const f = this.families.acquire(familyKey);
    const pk = pairKey(r, f);
    if (this.groups.find(pk) !== undefined) {
      // The group holds its resource and family once, not once per series.
      this.resources.release(r);
      this.families.release(f);
    }
    return this.groups.acquire(pk);
  }

  /** Takes another reference to a group held. */
  retain(id: number): number {
    return this.groups.retain(id);
  }

  /** Drops a reference; true when the group is gone (its id may then be reused). */
  release(id: number): boolean {
    const pk = this.groups.keyOf(id);
    if (!this.groups.release(id)) return false;
    const [r, f] = splitPair(pk);
    this.resources.release(r);
    this.families.release(f);
    return true;
  }
}

/** Sorts a short list of ids in place (a comparator call per step costs more here). */
function sortIds(ids: number[]): void {
  for (let i = 1; i < ids.length; i++) {
    const x = ids[i];
    let j = i - 1;
    while (j >= 0 && ids[j] > x) {
      ids[j + 1] = ids[j];
      j--;
    }
    ids[j + 1] = x;
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

/** The ids of one attribute key's values: string values by the string itself, others by valueKey. */
interface ValueIds {
  strings: Map<string, number>;
  others: Map<string, number>;
}

/** Whether a set key lists attribute ids (special keys start with something else). */
const listsAttrs = (key: string) => key !== '' && key.charCodeAt(0) >= 48 && key.charCodeAt(0) <= 57;

/**
 * Ids of attribute sets, compared as attrsKey compares them (order-free, by value
 * type). Each attribute (key and value) is held once and found without building a
 * string for it; a set's key is the sorted ids of its attributes ("3,17,42").
 *
 * keyOf() gives attributes seen for the first time an id at once, so that a key
 * can be made for any list; ids that no set took up are freed by flush(). No set
 * may be released between keyOf() and flush() while its keys are still compared,
 * or a freed id could come back for another attribute.
 */
export class AttrSets {
  private readonly byKey = new Map<string, ValueIds>();
  /** By attribute id: its key, the map holding it, and its key in that map. */
  private readonly attrKeys: (string | undefined)[] = [];
  private readonly owners: (Map<string, number> | undefined)[] = [];
  private readonly values: (string | undefined)[] = [];
  /** Sets that list the attribute (0 for one that keyOf() made and no set took yet). */
  private readonly refs: number[] = [];
  private readonly free: number[] = [];
  private readonly pending: number[] = [];
  private readonly sets = new Interner<string>();

  private attrId(kv: KeyValue): number | undefined {
    const ids = this.byKey.get(kv.key);
    if (!ids) return undefined;
    const v = kv.value;
    if (v && hasOwn.call(v, 'stringValue') && v.stringValue != null) return ids.strings.get(v.stringValue);
    return ids.others.get(valueKey(v));
  }

  /** The id of an attribute, made (without a reference) if it is new. */
  private attrIdOrNew(kv: KeyValue): number {
    const found = this.attrId(kv);
    if (found !== undefined) return found;
    let ids = this.byKey.get(kv.key);
    if (!ids) {
      ids = { strings: new Map(), others: new Map() };
      this.byKey.set(kv.key, ids);
    }
    const v = kv.value;
    const isString = v && hasOwn.call(v, 'stringValue') && v.stringValue != null;
    const owner = isString ? ids.strings : ids.others;
    const value = isString ? v.stringValue! : valueKey(v);
    const id = this.free.length > 0 ? this.free.pop()! : this.refs.length;
    owner.set(value, id);
    this.attrKeys[id] = kv.key;
    this.owners[id] = owner;
    this.values[id] = value;
    this.refs[id] = 0;
    this.pending.push(id);
    return id;
  }

  private freeAttr(id: number): void {
    const key = this.attrKeys[id]!;
    this.owners[id]!.delete(this.values[id]!);
    const ids = this.byKey.get(key);
    if (ids && ids.strings.size === 0 && ids.others.size === 0) this.byKey.delete(key);
    this.attrKeys[id] = undefined;
    this.owners[id] = undefined;
    this.values[id] = undefined;
    this.free.push(id);
  }

  /** The key of an attribute list, equal for lists equal as sets; call flush() when done with it. */
  keyOf(kvs: readonly KeyValue[]): string {
    if (kvs.length === 0) return '';
    if (kvs.length === 1) return String(this.attrIdOrNew(kvs[0]));
    const ids = new Array<number>(kvs.length);
    for (let i = 0; i < kvs.length; i++) ids[i] = this.attrIdOrNew(kvs[i]);
    sortIds(ids);
    return ids.join(',');
  }

  /** The key of a list whose attributes are all held, or undefined (then no set has that list). */
  heldKeyOf(kvs: readonly KeyValue[]): string | undefined {
    if (kvs.length === 0) return '';
    if (kvs.length === 1) {
      const a = this.attrId(kvs[0]);
      return a === undefined ? undefined : String(a);
    }
    const ids = new Array<number>(kvs.length);
    for (let i = 0; i < kvs.length; i++) {
      const a = this.attrId(kvs[i]);
      if (a === undefined) return undefined;
      ids[i] = a;
    }
    sortIds(ids);
    return ids.join(',');
  }

  /** Frees the ids keyOf() made that no set took. */
  flush(): void {
    for (const id of this.pending) if (this.refs[id] === 0 && this.owners[id] !== undefined) this.freeAttr(id);
    this.pending.length = 0;
  }

  /** The id of the set with this key (from keyOf(), or a special key not starting with a digit), or undefined. */
  findKey(key: string): number | undefined {
    return this.sets.find(key);
  }

  /** The id of the set with this key, taking a reference. */
  acquireKey(key: string): number {
    const found = this.sets.find(key);
    if (found !== undefined) return this.sets.retain(found);
    if (listsAttrs(key)) for (const a of key.split(',')) this.refs[Number(a)]++;
    return this.sets.acquire(key);
  }

  release(id: number): void {
    const key = this.sets.keyOf(id);
    if (!this.sets.release(id) || !listsAttrs(key)) return;
    for (const a of key.split(',')) {
      const n = Number(a);
      if (--this.refs[n] === 0) this.freeAttr(n);
    }
  }
}
