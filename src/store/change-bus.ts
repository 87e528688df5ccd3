// Configuration change events: the control plane publishes the new configuration
// version after every committed write; gateways subscribe and rebuild their snapshot.
// Redis pub/sub when clustered, an in-process emitter otherwise.
import { EventEmitter } from 'node:events'
import { duplicateForSubscriptions, type RedisConnection } from './redis.js'

export type ChangeListener = (version: bigint) => void

export interface ChangeBus {
  publish: (version: bigint) => Promise<void>
  subscribe: (listener: ChangeListener) => () => void
  close: () => Promise<void>
}

export class MemoryChangeBus implements ChangeBus {
  readonly #emitter = new EventEmitter()

  async publish (version: bigint): Promise<void> {
    this.#emitter.emit('change', version)
  }

  subscribe (listener: ChangeListener): () => void {
    this.#emitter.on('change', listener)
    return () => { this.#emitter.off('change', listener) }
  }

  async close (): Promise<void> {
    this.#emitter.removeAllListeners()
  }
}

export class RedisChangeBus implements ChangeBus {
  readonly #publisher: RedisConnection
  readonly #channel: string
  readonly #listeners = new Set<ChangeListener>()
  #subscriber: RedisConnection | undefined

  constructor (redis: RedisConnection, keyPrefix: string) {
    this.#publisher = redis
    this.#channel = `${keyPrefix}config-changed`
  }

  async publish (version: bigint): Promise<void> {
    await this.#publisher.publish(this.#channel, version.toString())
  }

  subscribe (listener: ChangeListener): () => void {
    this.#listeners.add(listener)
    if (this.#subscriber === undefined) {
      // a subscribed connection cannot run other commands, so it gets its own
      const subscriber = duplicateForSubscriptions(this.#publisher)
      this.#subscriber = subscriber
      subscriber.on('message', (channel: string, message: string) => {
        if (channel !== this.#channel || !/^\d+$/.test(message)) return
        for (const each of this.#listeners) each(BigInt(message))
      })
      subscriber.subscribe(this.#channel).catch(() => {
        // reconnects resubscribe on their own; the gateway's version poll covers the gap
      })
    }
    return () => { this.#listeners.delete(listener) }
  }

  async close (): Promise<void> {
    this.#listeners.clear()
    if (this.#subscriber !== undefined) {
      this.#subscriber.disconnect()
      this.#subscriber = undefined
    }
  }
}
