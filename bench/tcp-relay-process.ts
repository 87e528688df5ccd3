// A TCP relay (test/helpers/tcp-relay.ts) in a process of its own, so that the soak's load
// generator does not delay what passes through it. Arguments: target port [host]. It reports
// { port } once listening; the parent switches it with { mode } messages, each acknowledged
// with { mode }. It closes when the parent disconnects.
import { startTcpRelay, type RelayMode } from '../test/helpers/tcp-relay.js'

const relay = await startTcpRelay({ port: Number(process.argv[2]), host: process.argv[3] ?? '127.0.0.1' })
process.on('message', message => {
  relay.setMode((message as { mode: RelayMode }).mode)
  process.send?.({ mode: relay.mode })
})
process.on('disconnect', () => { void relay.close().finally(() => process.exit(0)) })
process.send?.({ port: relay.port })
