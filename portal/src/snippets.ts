// Request-signing snippets for an operation: curl through the CLI, Node and Python with
// the HMAC recipe (Alibaba Cloud API Gateway's app signature), filled with the app's key.
// The secret is never known to the portal: the snippets read it from APP_SECRET.

export interface SnippetRequest {
  method: string
  /** gateway base URL, no trailing slash */
  baseUrl: string
  path: string
  query: Array<[string, string]>
  body?: string
  key: string
}

function sortedQuery (query: Array<[string, string]>): string {
  return [...query].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => (value === '' ? name : `${name}=${value}`)).join('&')
}

function urlOf (request: SnippetRequest): string {
  const query = request.query.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')
  return request.baseUrl + request.path + (query === '' ? '' : `?${query}`)
}

const shellQuote = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`

export function curlSnippet (request: SnippetRequest): string {
  const parts = ['partner-gateway sign', `--key ${request.key}`, '--secret "$APP_SECRET"']
  if (request.method !== 'GET') parts.push(`--method ${request.method}`)
  if (request.body !== undefined) parts.push(`--data ${shellQuote(request.body)}`)
  parts.push(shellQuote(urlOf(request)))
  return `# prints a signed curl command (valid for 15 minutes) and runs it\nexport APP_SECRET='…'   # the secret shown when the credential was created\neval "$(${parts.join(' \\\n  ')})"`
}

export function nodeSnippet (request: SnippetRequest): string {
  const signedPath = request.path + (request.query.length > 0 ? `?${sortedQuery(request.query)}` : '')
  const hasBody = request.body !== undefined
  return `// Node.js 18+, no dependencies. Run with APP_SECRET set to the app's secret.
import { createHmac, randomUUID } from 'node:crypto'

const key = '${request.key}'
const secret = process.env.APP_SECRET
const method = '${request.method}'
const url = '${urlOf(request)}'
${hasBody ? `const body = JSON.stringify(${request.body ?? ''})\nconst contentType = 'application/json; charset=utf-8'\n` : ''}const headers = {
  accept: 'application/json',${hasBody ? '\n  \'content-type\': contentType,' : ''}
  'x-ca-key': key,
  'x-ca-nonce': randomUUID(),
  'x-ca-signature-method': 'HmacSHA256',
  'x-ca-timestamp': String(Date.now())
}
// every x-ca-* header is signed, sorted by name, as "name:value\\n"
const signed = Object.keys(headers).filter(name => name.startsWith('x-ca-')).sort()
// the path, and the query parameters sorted by name (decoded, "name=value" joined with &)
const pathAndQuery = '${signedPath}'
const stringToSign = [method, headers.accept, '', ${hasBody ? 'contentType' : "''"}, ''].join('\\n') + '\\n' +
  signed.map(name => \`\${name}:\${headers[name]}\\n\`).join('') + pathAndQuery
headers['x-ca-signature-headers'] = signed.join(',')
headers['x-ca-signature'] = createHmac('sha256', secret).update(stringToSign).digest('base64')

const response = await fetch(url, { method, headers${hasBody ? ', body' : ''} })
console.log(response.status, await response.text())`
}

export function pythonSnippet (request: SnippetRequest): string {
  const signedPath = request.path + (request.query.length > 0 ? `?${sortedQuery(request.query)}` : '')
  const hasBody = request.body !== undefined
  return `# Python 3, standard library only. Run with APP_SECRET set to the app's secret.
import base64, hashlib, hmac, os, time, uuid, urllib.request

key = "${request.key}"
secret = os.environ["APP_SECRET"]
method = "${request.method}"
url = "${urlOf(request)}"
${hasBody ? `body = ${JSON.stringify(request.body)}.encode()\ncontent_type = "application/json; charset=utf-8"\n` : ''}headers = {
    "accept": "application/json",${hasBody ? '\n    "content-type": content_type,' : ''}
    "x-ca-key": key,
    "x-ca-nonce": str(uuid.uuid4()),
    "x-ca-signature-method": "HmacSHA256",
    "x-ca-timestamp": str(int(time.time() * 1000)),
}
signed = sorted(name for name in headers if name.startswith("x-ca-"))
path_and_query = "${signedPath}"
string_to_sign = "\\n".join([method, headers["accept"], "", ${hasBody ? 'content_type' : '""'}, ""]) + "\\n" + \\
    "".join(f"{name}:{headers[name]}\\n" for name in signed) + path_and_query
headers["x-ca-signature-headers"] = ",".join(signed)
headers["x-ca-signature"] = base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).digest()).decode()

request = urllib.request.Request(url, data=${hasBody ? 'body' : 'None'}, method=method, headers=headers)
with urllib.request.urlopen(request) as response:
    print(response.status, response.read().decode())`
}
