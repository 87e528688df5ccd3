// A portal user over real HTTP: keeps the session cookie like a browser and sends the CSRF
// token from the login response, unless a test leaves it out on purpose.
export interface PortalResponse { status: number, body: any, headers: Headers }

export class PortalClient {
  cookie: string | undefined
  csrfToken: string | undefined

  constructor (readonly baseUrl: string) {}

  async call (method: string, path: string, body?: unknown, options: { csrf?: boolean | string, headers?: Record<string, string> } = {}): Promise<PortalResponse> {
    const headers: Record<string, string> = { ...options.headers }
    if (body !== undefined) headers['content-type'] ??= 'application/json'
    if (this.cookie !== undefined) headers.cookie = this.cookie
    const csrf = typeof options.csrf === 'string' ? options.csrf : options.csrf === false ? undefined : this.csrfToken
    if (csrf !== undefined && method !== 'GET') headers['x-csrf-token'] = csrf
    const response = await fetch(this.baseUrl + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) })
    const setCookie = response.headers.get('set-cookie')
    if (setCookie !== null) {
      const [pair] = setCookie.split(';')
      this.cookie = pair.endsWith('=') ? undefined : pair
    }
    const text = await response.text()
    const parsed = text === '' ? undefined : JSON.parse(text)
    if (parsed?.csrfToken !== undefined) this.csrfToken = parsed.csrfToken
    return { status: response.status, body: parsed, headers: response.headers }
  }

  async signup (companyName: string, email: string, password = 'correct horse battery'): Promise<PortalResponse> {
    return await this.call('POST', '/partner/v1/signup', { companyName, email, password })
  }

  async login (email: string, password = 'correct horse battery'): Promise<PortalResponse> {
    return await this.call('POST', '/partner/v1/login', { email, password })
  }
}

export const PETSTORE = {
  openapi: '3.0.3',
  info: { title: 'Petstore', version: '1.0.0', description: 'Pets for partners' },
  servers: [{ url: 'http://127.0.0.1:9/v1' }],
  paths: {
    '/pets': {
      get: { summary: 'List pets', parameters: [{ name: 'limit', in: 'query', required: false, schema: { type: 'integer' } }], responses: { 200: { description: 'pets', content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Pet' } } } } } } },
      post: { summary: 'Add a pet', requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Pet' }, example: { id: 1, name: 'Rex' } } } }, responses: { 201: { description: 'created' } } }
    },
    '/pets/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
      get: { summary: 'Get a pet', responses: { 200: { description: 'a pet', content: { 'application/json': { schema: { $ref: '#/components/schemas/Pet' } } } }, 404: { description: 'no such pet' } } },
      delete: { summary: 'Remove a pet', responses: { 204: { description: 'removed' } } }
    },
    '/stores/{id}/orders': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: { summary: 'Orders of a store', responses: { 200: { description: 'orders' } } }
    }
  },
  components: { schemas: { Pet: { type: 'object', required: ['id', 'name'], properties: { id: { type: 'integer' }, name: { type: 'string', example: 'Rex' } } } } }
}
