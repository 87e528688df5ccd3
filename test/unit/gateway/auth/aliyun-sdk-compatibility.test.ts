// Requests signed by Alibaba Cloud's own Node SDK (npm `aliyun-api-gateway`), sent to a
// local server on port 0, must pass our verifier unchanged.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyHmacSignature, type HmacVerification } from '../../../../src/gateway/auth/hmac.js'
import { contentMd5 } from '../../../helpers/sign-request.js'

interface SdkRequestOptions {
  headers?: Record<string, string>
  signHeaders?: Record<string, string>
  query?: Record<string, string>
  data?: unknown
}
interface SdkClient {
  get: (url: string, options?: SdkRequestOptions) => Promise<unknown>
  post: (url: string, options?: SdkRequestOptions) => Promise<unknown>
  put: (url: string, options?: SdkRequestOptions) => Promise<unknown>
  delete: (url: string, options?: SdkRequestOptions) => Promise<unknown>
}
type SdkClientConstructor = new (key: string, secret: string, stage?: string) => SdkClient

// the SDK is CommonJS without type declarations
const { Client } = createRequire(import.meta.url)('aliyun-api-gateway') as { Client: SdkClientConstructor }

const KEY = '203753385'
const SECRET = 'sdk-secret-Ω'

interface Received {
  verification: HmacVerification
  /** the X-Ca-Timestamp the SDK sent */
  sentTimestamp: string | undefined
  bodyMatchesContentMd5: boolean | undefined
}

function toRecord (params: URLSearchParams): Record<string, string | string[]> {
  const record: Record<string, string | string[]> = {}
  for (const [name, value] of params) {
    const existing = record[name]
    record[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value]
  }
  return record
}

async function readBody (request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

let server: Server
let baseUrl: string

beforeAll(async () => {
  server = createServer((request, response) => {
    void readBody(request).then(body => {
      const url = request.url ?? '/'
      const queryStart = url.indexOf('?')
      const isForm = request.headers['content-type']?.startsWith('application/x-www-form-urlencoded') === true
      const verification = verifyHmacSignature({
        method: request.method ?? 'GET',
        path: queryStart === -1 ? url : url.slice(0, queryStart),
        query: toRecord(new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1))),
        form: isForm ? toRecord(new URLSearchParams(body)) : undefined,
        headers: request.headers
      }, SECRET, Date.now(), 15 * 60 * 1000)
      const md5 = request.headers['content-md5']
      const timestamp = request.headers['x-ca-timestamp']
      const received: Received = { verification, sentTimestamp: Array.isArray(timestamp) ? timestamp[0] : timestamp, bodyMatchesContentMd5: md5 === undefined ? undefined : md5 === contentMd5(body) }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received))
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise(resolve => server.close(resolve))
})

describe('requests signed by the aliyun-api-gateway SDK', () => {
  const client = new Client(KEY, SECRET, 'TEST')

  it('verifies a GET with query parameters, an empty one and unicode', async () => {
    const received = await client.get(`${baseUrl}/v1/orders?status=open&tag=`, { query: { city: '北京', page: '2' } }) as Received
    expect(received.verification).toEqual({ ok: true, key: KEY, sentAtMs: Number(received.sentTimestamp) })
  })

  it('verifies extra signed headers', async () => {
    const received = await client.get(`${baseUrl}/v1/orders`, { signHeaders: { 'X-Trace-Id': 'trace-1', 'X-Tenant': '' } }) as Received
    expect(received.verification.ok).toBe(true)
  })

  it('verifies a POST JSON body and its Content-MD5', async () => {
    const received = await client.post(`${baseUrl}/v1/orders?dry-run=true`, { data: { item: 'book', note: 'café' } }) as Received
    expect(received.verification.ok).toBe(true)
    expect(received.bodyMatchesContentMd5).toBe(true)
  })

  it('verifies a POST form with its parameters signed', async () => {
    const received = await client.post(`${baseUrl}/v1/people`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
      data: { name: '张三', age: 3, motto: 'a+b=c&d' }
    }) as Received
    expect(received.verification.ok).toBe(true)
  })

  it('verifies PUT and DELETE', async () => {
    expect(((await client.put(`${baseUrl}/v1/orders/7`, { data: { status: 'paid' } })) as Received).verification.ok).toBe(true)
    expect(((await client.delete(`${baseUrl}/v1/orders/7`, { query: { reason: 'duplicate' } })) as Received).verification.ok).toBe(true)
  })

  it('fails with BAD_SIGNATURE for another secret', async () => {
    const received = await new Client(KEY, 'not-the-secret').get(`${baseUrl}/v1/orders`) as Received
    expect(received.verification).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' })
  })
})
