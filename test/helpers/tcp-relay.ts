// A TCP relay on a loopback port in front of a real service, switched between failures:
// - refuse: open connections are reset and new ones too (the service died),
// - drop: connections stay open but no bytes pass; held bytes arrive on restore (the host became unreachable),
// - lose-replies: requests reach the service but its answers are thrown away (a commit whose outcome the client never learns).
import { createServer, connect, type Server, type Socket } from 'node:net'

export type RelayMode = 'pass' | 'refuse' | 'drop' | 'lose-replies'

export interface TcpRelay {
  port: number
  /** the relay's URL for a client of the service, e.g. url('redis') */
  url: (protocol: string, path?: string) => string
  readonly mode: RelayMode
  setMode: (mode: RelayMode) => void
  /** what it holds (drop) on the way to the service ('request') or to the client ('reply') */
  held: (direction: Direction) => string
  close: () => Promise<void>
}

type Direction = 'request' | 'reply'

interface Held { socket: Socket, direction: Direction, chunks: Buffer[] }

export async function startTcpRelay (service: number | { host: string, port: number }): Promise<TcpRelay> {
  const target = typeof service === 'number' ? { host: '127.0.0.1', port: service } : service
  let mode: RelayMode = 'pass'
  const sockets = new Set<Socket>()
  const held: Held[] = []

  function forward (from: Socket, to: Socket, direction: Direction): void {
    const queue: Held = { socket: to, direction, chunks: [] }
    held.push(queue)
    to.once('close', () => { held.splice(held.indexOf(queue), 1) })
    from.on('data', chunk => {
      if (mode === 'drop' || queue.chunks.length > 0) queue.chunks.push(chunk)
      else if (!(mode === 'lose-replies' && direction === 'reply')) to.write(chunk)
    })
  }

  const server: Server = createServer(client => {
    if (mode === 'refuse') {
      client.resetAndDestroy()
      return
    }
    const service = connect(target)
    for (const socket of [client, service]) {
      sockets.add(socket)
      socket.on('error', () => { client.destroy(); service.destroy() })
      socket.on('close', () => { sockets.delete(socket); client.destroy(); service.destroy() })
    }
    forward(client, service, 'request')
    forward(service, client, 'reply')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    port,
    url: (protocol, path = '') => `${protocol}://127.0.0.1:${port}${path}`,
    get mode () { return mode },
    setMode (next) {
      mode = next
      if (mode === 'refuse') {
        for (const socket of sockets) socket.resetAndDestroy()
      }
      if (mode === 'pass') {
        for (const queue of held) {
          for (const chunk of queue.chunks.splice(0)) if (!queue.socket.destroyed) queue.socket.write(chunk)
        }
      }
    },
    held: direction => held.filter(queue => queue.direction === direction).map(queue => Buffer.concat(queue.chunks).toString('latin1')).join('\n'),
    async close () {
      for (const socket of sockets) socket.destroy()
      await new Promise(resolve => server.close(resolve))
    }
  }
}
