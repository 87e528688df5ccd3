// Every code sample the portal shows, generated for a provisioned app and run as a partner
// would run it — bash, curl, node, python3, java, go from the machine, nothing of ours —
// against a real gateway: a GET with awkward query parameters and a POST with a JSON body
// both reach the upstream, and a wrong secret prints the server's string-to-sign. A sample
// whose runtime is not installed is skipped here; test/unit/portal/snippets.test.ts checks
// its source.
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { snippet, SNIPPET_LANGUAGES, type SnippetLanguage, type SnippetRequest } from '../../../portal/src/snippets.js'
import { provision, startStack, waitForPropagation, type Provisioned, type TestStack } from '../../helpers/stack.js'
import { startUpstream, type TestUpstream } from '../../helpers/upstream.js'

const RUNNERS: Record<SnippetLanguage, string[]> = {
  curl: ['bash'],
  bash: ['bash'],
  node: ['node'],
  python: ['python3'],
  java: ['java'],
  go: ['go', 'run']
}

interface Run { code: number, stdout: string, stderr: string }

function installed (command: string): boolean {
  return spawnSync('which', [command]).status === 0
}
const AVAILABLE = new Set(SNIPPET_LANGUAGES.filter(language => installed(RUNNERS[language.id][0])).map(language => language.id))

describe('code samples run against the gateway', { timeout: 120_000 }, () => {
  let stack: TestStack
  let upstream: TestUpstream
  let app: Provisioned
  let prefix: string
  let directory: string

  beforeAll(async () => {
    stack = await startStack({ database: 'pglite', redis: false })
    upstream = await startUpstream('orders')
    app = await provision(stack, { upstreamUrls: [upstream.url], auth: ['hmac', 'apikey'] })
    prefix = (await stack.admin('GET', `/admin/v1/apis/${app.apiId}`)).body.routes[0].path
    await waitForPropagation(stack)
    directory = mkdtempSync(path.join(tmpdir(), 'pgw-snippets-'))
  })

  afterAll(async () => {
    await stack?.close()
    await upstream?.close()
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true })
  })

  async function run (language: SnippetLanguage, request: SnippetRequest, secret = app.secret): Promise<Run> {
    const { file } = SNIPPET_LANGUAGES.find(entry => entry.id === language) as typeof SNIPPET_LANGUAGES[number]
    const folder = mkdtempSync(path.join(directory, `${language}-`))
    writeFileSync(path.join(folder, file), snippet(language, request))
    const [command, ...args] = RUNNERS[language]
    return await new Promise(resolve => {
      execFile(command, [...args, file], { cwd: folder, timeout: 90_000, env: { ...process.env, APP_SECRET: secret, API_KEY: app.apiKey } }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr })
      })
    })
  }

  const get = (): SnippetRequest => ({
    method: 'GET',
    baseUrl: stack.gatewayUrls[0],
    path: `${prefix}/orders/o%201`,
    query: [['status', 'open'], ['note', "two words & 'quotes'"], ['empty', ''], ['tag', 'x'], ['tag', 'y'], ['Zulu', '1']],
    key: app.key
  })
  const post = (): SnippetRequest => ({
    method: 'POST',
    baseUrl: stack.gatewayUrls[0],
    path: `${prefix}/orders`,
    query: [['dry', '']],
    body: JSON.stringify({ id: 'o-1', note: "it's 12 € \"net\"", lines: [{ sku: 'a', quantity: 2 }] }),
    key: app.key
  })

  it.for(SNIPPET_LANGUAGES.map(language => language.id))('%s: a GET with query parameters reaches the upstream with a 200', async (language, context) => {
    if (!AVAILABLE.has(language)) context.skip(`${RUNNERS[language][0]} is not installed`)
    const before = upstream.received.length
    const result = await run(language, get())
    expect(result, result.stderr).toMatchObject({ code: 0 })
    expect(result.stdout).toMatch({ curl: /^\{"upstream":"orders"/, bash: /^HTTP\/1.1 200 OK\r\n/ }[language as string] ?? /^200 \{"upstream":"orders"/)
    const received = upstream.received.slice(before)
    expect(received.map(request => request.method)).toEqual(['GET'])
    // Node's URL percent-encodes ' in a query, the others leave it: the same parameters either way
    const [path, query] = received[0].url.split('?')
    expect([path, [...new URLSearchParams(query)]]).toEqual(['/orders/o%201', get().query])
    expect(received[0].headers['x-app-id']).toBe(app.appId)
  })

  it.for(SNIPPET_LANGUAGES.map(language => language.id))('%s: a POST with a JSON body reaches the upstream unchanged', async (language, context) => {
    if (!AVAILABLE.has(language)) context.skip(`${RUNNERS[language][0]} is not installed`)
    const before = upstream.received.length
    const result = await run(language, post())
    expect(result, result.stderr).toMatchObject({ code: 0 })
    const received = upstream.received.slice(before)
    expect(received.map(request => [request.method, request.url, request.body])).toEqual([['POST', '/orders?dry=', post().body]])
    expect(received[0].headers['content-type']).toBe('application/json; charset=utf-8')
  })

  it.for(SNIPPET_LANGUAGES.filter(language => language.auth === 'hmac').map(language => language.id))('%s: a wrong secret fails and prints the string-to-sign the server computed', async (language, context) => {
    if (!AVAILABLE.has(language)) context.skip(`${RUNNERS[language][0]} is not installed`)
    const before = upstream.received.length
    const result = await run(language, get(), 'not-the-secret')
    expect(result.code).not.toBe(0)
    expect(result.stdout).toContain('BAD_SIGNATURE')
    // curl -i shows it among the response headers, the others print it on stderr
    expect(language === 'bash' ? result.stdout : result.stderr).toMatch(new RegExp(`Invalid Signature, Server StringToSign:\`GET#application/json####x-ca-key:${app.key}#x-ca-nonce:[^#]+#x-ca-signature-method:HmacSHA256#x-ca-timestamp:\\d+#${prefix}/orders/o%201\\?Zulu=1&empty&note=two words & 'quotes'&status=open&tag=x\``))
    expect(upstream.received.length).toBe(before)
  })
})
