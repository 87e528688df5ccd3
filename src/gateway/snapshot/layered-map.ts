// A read-only map that the next snapshot derives from the previous one without copying it:
// the entries sit in a base that nobody writes once it is shared, under a small layer of the
// keys changed since. Deriving copies only that layer, so applying a one-grant delta to a
// snapshot of 100,000 apps touches a handful of entries instead of rebuilding the maps;
// the layer is folded into a new base once it outgrows MAX_LAYER_KEYS.

/** A key's entry in the layer when the key was removed from the base. */
const REMOVED: unique symbol = Symbol('removed')

/**
 * Past this many changed keys (or the base's size, when that is smaller) the layer is folded
 * into a copy of the base: every derivation copies the layer, so it must stay small, while a
 * fold copies everything, so it must stay rare.
 */
const MAX_LAYER_KEYS = 1024

const EMPTY_LAYER: ReadonlyMap<never, never> = new Map<never, never>()

/** The writes of one derivation; read through, they show the map as it will be. */
export interface MapEdit<K, V> {
  get: (key: K) => V | undefined
  has: (key: K) => boolean
  set: (key: K, value: V) => void
  delete: (key: K) => void
  /** The derived map (the original itself when nothing was written); the edit ends here. */
  commit: () => LayeredMap<K, V>
}

export class LayeredMap<K, V> {
  readonly #base: ReadonlyMap<K, V>
  readonly #layer: ReadonlyMap<K, V | typeof REMOVED>
  readonly size: number

  private constructor (base: ReadonlyMap<K, V>, layer: ReadonlyMap<K, V | typeof REMOVED>, size: number) {
    this.#base = base
    this.#layer = layer
    this.size = size
  }

  /** A map over `base`, which becomes its base: nobody may write it any more. */
  static from<K, V> (base: Map<K, V>): LayeredMap<K, V> {
    return new LayeredMap(base, EMPTY_LAYER, base.size)
  }

  get (key: K): V | undefined {
    const changed = this.#layer.get(key)
    if (changed === undefined) return this.#base.get(key)
    return changed === REMOVED ? undefined : changed
  }

  has (key: K): boolean {
    const changed = this.#layer.get(key)
    return changed === undefined ? this.#base.has(key) : changed !== REMOVED
  }

  /** Whether the two maps share their base, as a map and the derivations that did not fold their layer do. */
  sharesBaseWith (other: LayeredMap<K, V>): boolean {
    return this.#base === other.#base
  }

  * entries (): Generator<[K, V], undefined, undefined> {
    for (const entry of this.#base) if (!this.#layer.has(entry[0])) yield entry
    for (const [key, value] of this.#layer) if (value !== REMOVED) yield [key, value]
  }

  * keys (): Generator<K, undefined, undefined> {
    for (const key of this.#base.keys()) if (!this.#layer.has(key)) yield key
    for (const [key, value] of this.#layer) if (value !== REMOVED) yield key
  }

  * values (): Generator<V, undefined, undefined> {
    for (const [key, value] of this.#base) if (!this.#layer.has(key)) yield value
    for (const value of this.#layer.values()) if (value !== REMOVED) yield value
  }

  [Symbol.iterator] (): Generator<[K, V], undefined, undefined> {
    return this.entries()
  }

  /** Starts a derivation; this map stays as it is. */
  edit (): MapEdit<K, V> {
    const base = this.#base
    const source = this
    // copied on the first write, so that an edit that writes nothing costs nothing
    let layer: Map<K, V | typeof REMOVED> | undefined
    let size = this.size
    let committed = false
    const has = (key: K): boolean => {
      const changed = (layer ?? source.#layer).get(key)
      return changed === undefined ? base.has(key) : changed !== REMOVED
    }
    const writable = (): Map<K, V | typeof REMOVED> => {
      // the layer belongs to the derived map once committed
      if (committed) throw new Error('A committed map edit cannot be written to')
      return (layer ??= new Map(source.#layer))
    }
    return {
      get: key => {
        const changed = (layer ?? source.#layer).get(key)
        if (changed === undefined) return base.get(key)
        return changed === REMOVED ? undefined : changed
      },
      has,
      set: (key, value) => {
        if (!has(key)) size++
        writable().set(key, value)
      },
      delete: key => {
        if (!has(key)) return
        size--
        if (base.has(key)) writable().set(key, REMOVED)
        else writable().delete(key)
      },
      commit: () => {
        committed = true
        if (layer === undefined) return source
        if (layer.size <= Math.min(MAX_LAYER_KEYS, base.size)) return new LayeredMap(base, layer, size)
        const folded = new Map(base)
        for (const [key, value] of layer) {
          if (value === REMOVED) folded.delete(key)
          else folded.set(key, value)
        }
        return new LayeredMap(folded, EMPTY_LAYER, size)
      }
    }
  }
}
