// A read-only map that the next snapshot derives from the previous one without copying it.
// The entries sit in three levels that shadow each other: a large base that nobody writes once
// it is shared, a middle level of the keys changed since the base was made, and a small layer
// of the latest changes. Deriving copies only the layer; a layer past LAYER_KEYS is folded into
// a copy of the middle level, and a middle level past MIDDLE_KEYS into a copy of the base.
// At 200,000 grants a one-grant delta therefore copies at most about a thousand entries, one
// in a thousand copies some tens of thousands, and the whole map is copied once per 32,768
// changed keys — rarer than the gateway reads its whole configuration again anyway.

/** A key's entry in an upper level when the key was removed from a lower one. */
const REMOVED: unique symbol = Symbol('removed')

/** Every derivation copies the layer: it must stay small. */
const LAYER_KEYS = 1024
/** Every fold of the layer copies the middle level: it must stay well below the base's size. */
const MIDDLE_KEYS = 32 * LAYER_KEYS

type Level<K, V> = ReadonlyMap<K, V | typeof REMOVED>

const EMPTY: ReadonlyMap<never, never> = new Map<never, never>()

/** The writes of one derivation; read through, they show the map as it will be. */
export interface MapEdit<K, V> {
  get: (key: K) => V | undefined
  has: (key: K) => boolean
  set: (key: K, value: V) => void
  delete: (key: K) => void
  /** The derived map (the original itself when nothing was written); the edit ends here. */
  commit: () => LayeredMap<K, V>
}

/** `upper` written over a copy of `lower`; a removal stays a marker only where `below` still has the key. */
function fold<K, V> (lower: Level<K, V>, upper: Level<K, V>, below: (key: K) => boolean): Map<K, V | typeof REMOVED> {
  const folded = new Map(lower)
  for (const [key, value] of upper) {
    if (value !== REMOVED) folded.set(key, value)
    else if (below(key)) folded.set(key, REMOVED)
    else folded.delete(key)
  }
  return folded
}

export class LayeredMap<K, V> {
  readonly #base: ReadonlyMap<K, V>
  readonly #middle: Level<K, V>
  readonly #layer: Level<K, V>
  readonly size: number

  private constructor (base: ReadonlyMap<K, V>, middle: Level<K, V>, layer: Level<K, V>, size: number) {
    this.#base = base
    this.#middle = middle
    this.#layer = layer
    this.size = size
  }

  /** A map over `base`, which becomes its base: nobody may write it any more. */
  static from<K, V> (base: Map<K, V>): LayeredMap<K, V> {
    return new LayeredMap(base, EMPTY, EMPTY, base.size)
  }

  get (key: K): V | undefined {
    let found = this.#layer.get(key)
    if (found === undefined) found = this.#middle.get(key)
    if (found === undefined) return this.#base.get(key)
    return found === REMOVED ? undefined : found
  }

  has (key: K): boolean {
    return this.get(key) !== undefined
  }

  /** Whether the two maps share their base, as a map and the derivations that did not fold into the base do. */
  sharesBaseWith (other: LayeredMap<K, V>): boolean {
    return this.#base === other.#base
  }

  * entries (): Generator<[K, V], undefined, undefined> {
    for (const entry of this.#base) if (!this.#middle.has(entry[0]) && !this.#layer.has(entry[0])) yield entry
    for (const [key, value] of this.#middle) if (value !== REMOVED && !this.#layer.has(key)) yield [key, value]
    for (const [key, value] of this.#layer) if (value !== REMOVED) yield [key, value]
  }

  * keys (): Generator<K, undefined, undefined> {
    for (const [key] of this.entries()) yield key
  }

  * values (): Generator<V, undefined, undefined> {
    for (const [, value] of this.entries()) yield value
  }

  [Symbol.iterator] (): Generator<[K, V], undefined, undefined> {
    return this.entries()
  }

  /** Starts a derivation; this map stays as it is. */
  edit (): MapEdit<K, V> {
    const base = this.#base
    const middle = this.#middle
    const source = this
    // copied on the first write, so that an edit that writes nothing costs nothing
    let layer: Map<K, V | typeof REMOVED> | undefined
    let size = this.size
    let committed = false
    const inBase = (key: K): boolean => base.has(key)
    /** whether the key shows through the layer: from the middle level, or from the base where the middle level says nothing */
    const belowLayer = (key: K): boolean => {
      const found = middle.get(key)
      return found === undefined ? base.has(key) : found !== REMOVED
    }
    const get = (key: K): V | undefined => {
      const found = (layer ?? source.#layer).get(key)
      if (found === undefined) return source.#below(key)
      return found === REMOVED ? undefined : found
    }
    const has = (key: K): boolean => get(key) !== undefined
    const writable = (): Map<K, V | typeof REMOVED> => {
      // the layer belongs to the derived map once committed
      if (committed) throw new Error('A committed map edit cannot be written to')
      return (layer ??= new Map(source.#layer))
    }
    return {
      get,
      has,
      set: (key, value) => {
        if (!has(key)) size++
        writable().set(key, value)
      },
      delete: key => {
        if (!has(key)) return
        size--
        if (belowLayer(key)) writable().set(key, REMOVED)
        else writable().delete(key)
      },
      commit: () => {
        committed = true
        if (layer === undefined) return source
        if (layer.size <= Math.min(LAYER_KEYS, base.size)) return new LayeredMap(base, middle, layer, size)
        const folded = fold(middle, layer, inBase)
        if (folded.size <= Math.min(MIDDLE_KEYS, base.size)) return new LayeredMap(base, folded, EMPTY, size)
        return new LayeredMap(fold(base, folded, () => false) as Map<K, V>, EMPTY, EMPTY, size)
      }
    }
  }

  #below (key: K): V | undefined {
    const found = this.#middle.get(key)
    if (found === undefined) return this.#base.get(key)
    return found === REMOVED ? undefined : found
  }
}
