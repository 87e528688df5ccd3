// The in-memory replay cache of one node: every nonce accepted within the timestamp window,
// as a 64-bit fingerprint and an expiry second in typed arrays (open addressing, linear
// probing). A JavaScript Map of `key:nonce` strings costs ~130 bytes per nonce and makes
// every major GC trace millions of objects; at 2,000 signed requests/s and a 15-minute
// window a node holds about two million nonces, so here each costs 12 bytes per slot
// (≤ 48 bytes with the table at most half full) and nothing the GC has to walk. Expired
// slots are reused in place; a rebuild (grow or rehash) runs once the used slots reach
// half the table, so it is amortised over at least as many insertions as live entries.
// The table never grows past the power of two at or above 2 × maxEntries slots; when a
// rebuild finds maxEntries live it refuses new nonces rather than forget live ones: a
// replay must never pass because the cache ran out of room.
import { randomInt } from 'node:crypto'

const INITIAL_CAPACITY = 1 << 12
const EMPTY = 0

export class NonceTableFullError extends Error {
  constructor (maxEntries: number) {
    super(`the replay cache holds its maximum of ${maxEntries} live nonces`)
  }
}

export class NonceTable {
  readonly #maxEntries: number
  readonly #maxCapacity: number
  // seeds unknown to clients: nobody can aim a nonce at another app's fingerprint
  readonly #seedHigh = randomInt(2 ** 32)
  readonly #seedLow = randomInt(2 ** 32)
  /** second 0 of the table's clock: expiries are stored as seconds since, so 0 means empty */
  readonly #originSecond: number
  #fingerprints = new Uint32Array(INITIAL_CAPACITY * 2)
  #expiries = new Uint32Array(INITIAL_CAPACITY)
  #used = 0
  /** the second a rebuild last found more live entries than allowed: no new count before the next */
  #fullAtSecond = -1
  // written by #fingerprint, read right after: no per-call allocation
  #high = 0
  #low = 0

  constructor (options: { maxEntries: number, nowMs: number }) {
    this.#maxEntries = options.maxEntries
    this.#maxCapacity = INITIAL_CAPACITY
    while (this.#maxCapacity < options.maxEntries * 2) this.#maxCapacity *= 2
    this.#originSecond = Math.floor(options.nowMs / 1000) - 1
  }

  get capacity (): number {
    return this.#expiries.length
  }

  /**
   * Records `nonce` of `key` until `expiresAtMs` (rounded up to the second); false when it is
   * already recorded and has not expired.
   */
  remember (key: string, nonce: string, expiresAtMs: number, nowMs: number): boolean {
    const now = this.#second(nowMs, Math.floor)
    const expiry = Math.max(this.#second(expiresAtMs, Math.ceil), now + 1)
    this.#fingerprint(key, nonce)
    const high = this.#high
    const low = this.#low
    const mask = this.#expiries.length - 1
    let slot = low & mask
    let reusable = -1
    for (;;) {
      const slotExpiry = this.#expiries[slot]
      if (slotExpiry === EMPTY) break
      if (slotExpiry > now) {
        if (this.#fingerprints[slot * 2] === high && this.#fingerprints[slot * 2 + 1] === low) return false
      } else if (reusable < 0) {
        reusable = slot
      }
      slot = (slot + 1) & mask
    }
    if (reusable >= 0) {
      slot = reusable
    } else if ((this.#used + 1) * 2 > this.#expiries.length) {
      // a replay is still found when the table is full: room is only made for a new nonce
      this.#makeRoom(now)
      slot = this.#emptySlot(low)
      this.#used++
    } else {
      this.#used++
    }
    this.#fingerprints[slot * 2] = high
    this.#fingerprints[slot * 2 + 1] = low
    this.#expiries[slot] = expiry
    return true
  }

  /** Live entries; walks the table, for tests and diagnostics. */
  liveEntries (nowMs: number): number {
    return this.#countLive(this.#second(nowMs, Math.floor))
  }

  #countLive (now: number): number {
    let live = 0
    for (const expiry of this.#expiries) if (expiry > now) live++
    return live
  }

  #emptySlot (low: number): number {
    const mask = this.#expiries.length - 1
    let slot = low & mask
    while (this.#expiries[slot] !== EMPTY) slot = (slot + 1) & mask
    return slot
  }

  #second (ms: number, round: (value: number) => number): number {
    return round(ms / 1000) - this.#originSecond
  }

  /** Two 32-bit FNV-1a lanes with different seeds over key, a separator no UTF-16 unit equals, and nonce, each finished with murmur3's fmix32. */
  #fingerprint (key: string, nonce: string): void {
    let high = this.#seedHigh ^ 0x811c9dc5
    let low = this.#seedLow ^ 0x050c5d1f
    for (let index = 0; index < key.length; index++) {
      const code = key.charCodeAt(index)
      high = Math.imul(high ^ code, 0x01000193)
      low = Math.imul(low ^ code, 0x5bd1e995)
    }
    high = Math.imul(high ^ 0x10000, 0x01000193)
    low = Math.imul(low ^ 0x10000, 0x5bd1e995)
    for (let index = 0; index < nonce.length; index++) {
      const code = nonce.charCodeAt(index)
      high = Math.imul(high ^ code, 0x01000193)
      low = Math.imul(low ^ code, 0x5bd1e995)
    }
    this.#high = finish(high) >>> 0
    this.#low = finish(low ^ high) >>> 0
  }

  /** Copies the live entries into a table a quarter full after the copy, or as large as allowed. */
  #makeRoom (now: number): void {
    if (now === this.#fullAtSecond) throw new NonceTableFullError(this.#maxEntries)
    const live = this.#countLive(now)
    if (live >= this.#maxEntries) {
      this.#fullAtSecond = now
      throw new NonceTableFullError(this.#maxEntries)
    }
    let capacity = INITIAL_CAPACITY
    while (capacity < live * 4 && capacity < this.#maxCapacity) capacity *= 2
    const expiries = this.#expiries
    const fingerprints = this.#fingerprints
    this.#expiries = new Uint32Array(capacity)
    this.#fingerprints = new Uint32Array(capacity * 2)
    for (let from = 0; from < expiries.length; from++) {
      if (expiries[from] <= now) continue
      const slot = this.#emptySlot(fingerprints[from * 2 + 1])
      this.#fingerprints[slot * 2] = fingerprints[from * 2]
      this.#fingerprints[slot * 2 + 1] = fingerprints[from * 2 + 1]
      this.#expiries[slot] = expiries[from]
    }
    this.#used = live
  }
}

function finish (hash: number): number {
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  return hash ^ (hash >>> 16)
}
