import type { IncomingHttpHeaders } from 'node:http'
import { describe, expect, it } from 'vitest'
import { checkHandshake } from '../../../../src/gateway/websocket/handshake.js'

const VALID: IncomingHttpHeaders = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' }

function refusal (method: string | undefined, headers: IncomingHttpHeaders): { code: string, statusCode: number, message: string, headers: Record<string, string> } {
  const set: Record<string, string> = {}
  try {
    checkHandshake(method, headers, (name, value) => { set[name] = value })
  } catch (error) {
    const { code, statusCode, message } = error as { code: string, statusCode: number, message: string }
    return { code, statusCode, message, headers: set }
  }
  throw new Error('the handshake was accepted')
}

describe('checkHandshake', () => {
  it('accepts the RFC 6455 sample handshake and returns the offered subprotocols in order', () => {
    expect(checkHandshake('GET', VALID, () => {})).toEqual([])
    expect(checkHandshake('GET', { ...VALID, upgrade: 'WebSocket', 'sec-websocket-protocol': 'chat, superchat' }, () => {})).toEqual(['chat', 'superchat'])
    expect(checkHandshake('GET', { ...VALID, 'sec-websocket-version': '8' }, () => {})).toEqual([])
  })

  it('refuses other methods with 405 and an Allow header', () => {
    expect(refusal('POST', VALID)).toMatchObject({ code: 'METHOD_NOT_ALLOWED', statusCode: 405, headers: { Allow: 'GET' } })
  })

  it('refuses an Upgrade other than websocket, such as h2c', () => {
    expect(refusal('GET', { ...VALID, upgrade: 'h2c' })).toMatchObject({ code: 'BAD_WEBSOCKET_HANDSHAKE', statusCode: 400, message: 'The Upgrade header must be websocket' })
    expect(refusal('POST', { ...VALID, upgrade: undefined })).toMatchObject({ code: 'BAD_WEBSOCKET_HANDSHAKE', statusCode: 400 })
  })

  it.each([
    ['missing', undefined],
    ['not base64 of 16 bytes', 'dGhlIHNhbXBsZSBub25jZQ'],
    ['too long', 'dGhlIHNhbXBsZSBub25jZSE='],
    ['not base64', 'dGhlIHNhbXBsZSBub25j*Q=='],
    ['sent twice', 'dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ==']
  ])('refuses a Sec-WebSocket-Key that is %s', (_case, key) => {
    expect(refusal('GET', { ...VALID, 'sec-websocket-key': key })).toMatchObject({ code: 'BAD_WEBSOCKET_HANDSHAKE', statusCode: 400, message: 'Missing or invalid Sec-WebSocket-Key header' })
  })

  it.each([undefined, '12', '013', '13, 8'])('refuses Sec-WebSocket-Version %s, naming the versions it speaks', version => {
    expect(refusal('GET', { ...VALID, 'sec-websocket-version': version })).toMatchObject({ code: 'BAD_WEBSOCKET_HANDSHAKE', statusCode: 400, headers: { 'Sec-WebSocket-Version': '13, 8' } })
  })

  it.each(['', 'chat,', 'chat,,superchat', 'chat, chat', 'two words', 'chat/1.0', 'chät'])('refuses the subprotocol list %j', header => {
    expect(refusal('GET', { ...VALID, 'sec-websocket-protocol': header })).toMatchObject({ code: 'BAD_WEBSOCKET_HANDSHAKE', statusCode: 400, message: 'Invalid Sec-WebSocket-Protocol header' })
  })

  it('allows spaces around subprotocol names and token punctuation inside them', () => {
    expect(checkHandshake('GET', { ...VALID, 'sec-websocket-protocol': ' v1.chat.example , graphql-ws ' }, () => {})).toEqual(['v1.chat.example', 'graphql-ws'])
  })
})
