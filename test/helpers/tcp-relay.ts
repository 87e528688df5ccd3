// A TCP relay a test puts between the product and a dependency (Redis, PostgreSQL) to cut it
// without touching the shared service, both ways it fails in production:
// - refuse: open connections reset, new ones refused, as when the process died;
// - drop:   connections stay open but no bytes pass, as when the host became unreachable
//           (held bytes are delivered if the relay passes again, like TCP retransmission).
import { createServer, connect, type Server, type Socket } from 'node:net'

export type RelayMode = 'pass' | 'refuse' | 'drop'

interface Link { client: Socket, service: Socket, held: Array<{ to: Socket, chunk: Buffer }> }

export interface TcpRelay {
  port: number
  url: (protocol: string, path?: string) => string
  readonly mode: RelayMode
  setMode: (mode: RelayMode) => void
  close: () => Promise<void>
}

export async function startTcpRelay (targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
  let mode: RelayMode = 'pass'
  const links = new Set<Link>()
  const forward = (link: Link, to: Socket, chunk: Buffer): void => {
    if (mode === 'drop') link.held.push({ to, chunk })
    else to.write(chunk)
  }
  const server: Server = createServer(client => {
    if (mode === 'refuse') {
      client.resetAndDestroy()
      return
    }
    const service = connect(targetPort, targetHost)
    const link: Link = { client, service, held: [] }
    links.add(link)
    client.on('data', chunk => { forward(link, service, chunk) })
    service.on('data', chunk => { forward(link, client, chunk) })
    const end = (): void => {
      links.delete(link)
      client.destroy()
      service.destroy()
    }
    client.on('close', end)
    service.on('close', end)
    client.on('error', end)
    service.on('error', end)
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
      if (next === 'refuse') {
        for (const link of links) {
          link.client.resetAndDestroy()
          link.service.destroy()
        }
        links.clear()
      }
      if (next === 'pass') {
        for (const link of links) {
          for (const { to, chunk } of link.held) to.write(chunk)
          link.held = []
        }
      }
    },
    async close () {
      for (const link of links) {
        link.client.destroy()
        link.service.destroy()
      }
      links.clear()
      await new Promise(resolve => server.close(resolve))
    }
  }
}
