// The code-sample generator: the same signed path as the gateway's own recipe, samples
// chosen by the API's authentication modes, no secret and no tool of ours in any sample,
// and — for Go, whose runtime this machine lacks (test/integration/portal/snippets.test.ts
// runs every other sample against a gateway) — a source that compiles as far as imports go
// and builds the string-to-sign as the others do.
import { describe, expect, it } from 'vitest'
import { buildPathAndParameters, mergeSigningParameters } from '../../../src/domain/string-to-sign.js'
import { signedPathAndQuery, snippet, SNIPPET_LANGUAGES, snippetLanguagesFor, urlOf, type SnippetRequest } from '../../../portal/src/snippets.js'

const GET: SnippetRequest = {
  method: 'GET',
  baseUrl: 'https://api.example.com',
  path: '/v1/orders/o%201',
  query: [['status', 'open'], ['empty', ''], ['tag', 'x'], ['tag', 'y'], ['Zulu', '1'], ['note', 'a&b c']],
  key: 'app-key-123'
}
const POST: SnippetRequest = { ...GET, method: 'POST', query: [], body: JSON.stringify({ note: "it's 12 € \"net\"" }) }

function queryRecord (query: Array<[string, string]>): Record<string, string[]> {
  const record: Record<string, string[]> = {}
  for (const [name, value] of query) (record[name] ??= []).push(value)
  return record
}

describe('code samples', () => {
  it.each([
    [GET.query],
    [[]],
    [[['b', '2'], ['a', '1'], ['a', '3'], ['B', '']]]
  ] as Array<[Array<[string, string]>]>)('sign the path and query %j as the gateway does', query => {
    expect(signedPathAndQuery({ path: GET.path, query })).toBe(buildPathAndParameters(GET.path, mergeSigningParameters(queryRecord(query))))
  })

  it('send the query percent-encoded', () => {
    expect(urlOf(GET)).toBe('https://api.example.com/v1/orders/o%201?status=open&empty=&tag=x&tag=y&Zulu=1&note=a%26b%20c')
  })

  it("offer the samples an API's authentication modes allow", () => {
    expect(snippetLanguagesFor(['apikey']).map(language => language.id)).toEqual(['curl'])
    expect(snippetLanguagesFor(['hmac']).map(language => language.id)).toEqual(['bash', 'node', 'python', 'java', 'go'])
    expect(snippetLanguagesFor(['hmac', 'apikey', 'jwt'])).toHaveLength(6)
    expect(snippetLanguagesFor(['jwt'])).toEqual([])
  })

  it.each(SNIPPET_LANGUAGES.map(language => [language.id, language.auth] as const))('%s reads its secret from the environment and needs no tool of ours', (language, auth) => {
    for (const request of [GET, POST]) {
      const code = snippet(language, request)
      expect(code).not.toMatch(/partner-gateway/)
      expect(code).toContain(auth === 'hmac' ? 'APP_SECRET' : 'API_KEY')
      if (auth === 'hmac') expect(code).toContain(`"${request.key}"`.replace(/"/g, language === 'bash' ? "'" : '"'))
    }
  })

  it('quote the body for the shell, single quotes included', () => {
    expect(snippet('curl', POST)).toContain(`--data-raw '{"note":"it'\\''s 12 € \\"net\\""}'`)
    expect(snippet('bash', POST)).toContain(`body='{"note":"it'\\''s 12 € \\"net\\""}'`)
  })

  it('keep Java literals ASCII for compilers reading sources in another encoding', () => {
    expect(snippet('java', POST)).toContain('String body = "{\\"note\\":\\"it\'s 12 \\u20ac \\\\\\"net\\\\\\"\\"}";')
  })
})

describe('the Go sample (not run: no Go toolchain here)', () => {
  const sources = [snippet('go', GET), snippet('go', POST)]

  it.each(sources.map((source, index) => [index === 0 ? 'GET' : 'POST', source]))('%s: imports exactly the packages it uses (Go refuses unused imports)', (_method, source) => {
    const imports = [...(/import \(([^)]*)\)/.exec(source)?.[1] ?? '').matchAll(/"([\w/]+)"/g)].map(match => match[1].split('/').pop() as string)
    const body = source.slice(source.indexOf('func main'))
    for (const name of imports) expect(body, name).toMatch(new RegExp(`\\b${name}\\.`))
    const used = new Set([...body.matchAll(/\b([a-z][a-z0-9]*)\.[A-Z]\w*/g)].map(match => match[1]))
    const locals = new Set(['target', 'response', 'request', 'mac', 'stringToSign', 'parameters'])
    expect([...used].filter(name => !locals.has(name) && !imports.includes(name))).toEqual([])
    expect(source.split('{').length).toBe(source.split('}').length)
    expect(source.split('(').length).toBe(source.split(')').length)
  })

  it('builds the string-to-sign like the other samples: the five lines, the X-Ca-* headers sorted, the raw path and sorted first values', () => {
    const [get, post] = sources
    for (const source of sources) {
      expect(source).toContain('appKey := "app-key-123"')
      expect(source).toContain('appSecret := os.Getenv("APP_SECRET")')
      const order = [
        'if value := parameters[name][0]; value == "" {',
        'sort.Strings(signed)',
        'stringToSign.WriteString(method + "\\n" + headers["accept"] + "\\n" + headers["content-md5"] + "\\n" + headers["content-type"] + "\\n" + "\\n")',
        'stringToSign.WriteString(name + ":" + headers[name] + "\\n")',
        'stringToSign.WriteString(target.EscapedPath())',
        'stringToSign.WriteString("?" + strings.Join(pairs, "&"))',
        'mac := hmac.New(sha256.New, []byte(appSecret))',
        'headers["x-ca-signature-headers"] = strings.Join(signed, ",")',
        'headers["x-ca-signature"] = base64.StdEncoding.EncodeToString(mac.Sum(nil))',
        'request.Header.Set(name, value)'
      ].map(line => source.indexOf(line))
      expect(order.every(index => index >= 0)).toBe(true)
      expect([...order].sort((a, b) => a - b)).toEqual(order)
    }
    expect(get).toContain(`target, err := url.Parse(${JSON.stringify(urlOf(GET))})`)
    expect(get).toContain('var body []byte\n')
    expect(post).toContain(`var body []byte = []byte(${JSON.stringify(POST.body)})`)
    expect(post).toContain('headers["content-md5"] = base64.StdEncoding.EncodeToString(sum[:])')
  })
})
