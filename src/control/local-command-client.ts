// The CLI's side of src/control/local-commands.ts: sends one command to the process that
// owns DATA_DIR over its Unix socket.
import { statSync } from 'node:fs'
import { Agent, request } from 'undici'
import { OwnerCommandFailedError, OwnerUnreachableError } from '../domain/errors.js'
import { runningOwner, type DataDirOwner } from '../store/data-dir-lock.js'

// the owner writes its lock before it opens and migrates the database, and serves the
// socket only after that; a large database takes a while
const CONNECT_DEADLINE_MS = 60_000
const CONNECT_RETRY_MS = 200

export interface OwnerReply {
  status: number
  body: Buffer
}

function isNotListening (error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ECONNREFUSED'
}

/** Sends `method path` with an optional JSON body to `owner`; a 4xx or 5xx answer is thrown. */
export async function callOwner (dataDir: string, owner: DataDirOwner & { commandSocket: string }, method: 'GET' | 'POST', path: string, body?: unknown): Promise<OwnerReply> {
  const dispatcher = new Agent({ connect: { socketPath: owner.commandSocket } })
  const deadline = Date.now() + CONNECT_DEADLINE_MS
  try {
    for (;;) {
      try {
        // a socket in a directory others can write to could be someone else's, listening for tokens
        const socketOwner = statSync(owner.commandSocket).uid
        if (process.getuid !== undefined && socketOwner !== process.getuid()) throw new OwnerUnreachableError(`${owner.commandSocket} belongs to another user (uid ${socketOwner}); not sending commands to it`)
        const reply = await request(`http://localhost${path}`, {
          method,
          dispatcher,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body)
        })
        const content = Buffer.from(await reply.body.arrayBuffer())
        if (reply.statusCode >= 400) throw new OwnerCommandFailedError(String(owner.pid), describeError(reply.statusCode, content))
        return { status: reply.statusCode, body: content }
      } catch (error) {
        if (!isNotListening(error)) throw error
        if (Date.now() > deadline || runningOwner(dataDir)?.nonce !== owner.nonce) {
          throw new OwnerUnreachableError(`partner-gateway ${owner.command} (pid ${owner.pid}) owns DATA_DIR ${dataDir} but does not answer on ${owner.commandSocket}`)
        }
        await new Promise(resolve => setTimeout(resolve, CONNECT_RETRY_MS))
      }
    }
  } finally {
    await dispatcher.close()
  }
}

function describeError (status: number, content: Buffer): string {
  try {
    const { error } = JSON.parse(content.toString('utf8')) as { error: { code: string, message: string } }
    return `${status} ${error.code}: ${error.message}`
  } catch {
    return String(status)
  }
}
