import { Redis } from 'ioredis'
import { REDIS_URL } from './database.js'

/** Deletes the keys a test wrote under its private prefix; never touches anything else. */
export async function deleteRedisKeys (prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) await redis.del(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}
