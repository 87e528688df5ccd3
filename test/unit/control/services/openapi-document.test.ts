// The document as partners get it: the gateway as the only server, wherever the operator put
// servers, in the operator's order; and reading JSON or YAML text.
import { describe, expect, it } from 'vitest'
import YAML from 'yaml'
import { parseDocumentText, partnerDocument, partnerYaml } from '../../../../src/control/services/openapi-document.js'

const GATEWAY = 'https://api.example.com/shop'

describe('partnerDocument', () => {
  it('replaces servers where it stands and removes the servers of paths and operations', () => {
    const document = {
      openapi: '3.0.3',
      servers: [{ url: 'http://10.0.0.1' }, { url: 'http://10.0.0.2' }],
      info: { title: 't', version: '1' },
      paths: { '/b': { servers: [{ url: 'http://10.0.0.3' }], get: { servers: [{ url: 'http://10.0.0.4' }], responses: {} }, parameters: [] }, '/a': { post: { responses: {} } } }
    }
    const served = partnerDocument(document, GATEWAY)
    expect(Object.keys(served)).toEqual(['openapi', 'servers', 'info', 'paths'])
    expect(served.servers).toEqual([{ url: GATEWAY }])
    expect(Object.keys(served.paths as object)).toEqual(['/b', '/a'])
    expect(JSON.stringify(served)).not.toMatch(/10\.0\.0/)
    expect(Object.keys((served.paths as any)['/b'])).toEqual(['get', 'parameters'])
    // the operator's object is left as it was
    expect(document.servers).toHaveLength(2)
  })

  it('adds servers after info when the document has none', () => {
    expect(Object.keys(partnerDocument({ openapi: '3.1.0', info: {}, paths: {} }, GATEWAY))).toEqual(['openapi', 'info', 'servers', 'paths'])
    expect(partnerDocument({ openapi: '3.1.0', paths: {} }, GATEWAY).servers).toEqual([{ url: GATEWAY }])
  })
})

describe('partnerYaml', () => {
  const source = `# written by the platform team, deployed on 10.0.0.9
openapi: 3.0.3
info: { title: t, version: "1" }
servers:
  - url: http://10.0.0.9:8080 # internal
paths:
  /z:
    servers: [{ url: http://10.0.0.10 }]
    get:
      responses:
        "201": { description: first }
        "200": { description: second }
`

  it('edits the operator\'s YAML in place: order and styles kept, servers replaced, comments dropped', () => {
    const served = partnerYaml(source, YAML.parse(source), GATEWAY)
    expect(served).not.toMatch(/10\.0\.0|#/)
    expect(served).toContain(`servers:\n  - url: ${GATEWAY}\n`)
    expect(served.indexOf('"201"')).toBeLessThan(served.indexOf('"200"'))
    expect(served).toContain('info: { title: t, version: "1" }')
  })

  it('writes a JSON source as YAML', () => {
    const document = { openapi: '3.0.3', info: { title: 't', version: '1' }, servers: [{ url: 'http://10.0.0.9' }], paths: {} }
    expect(YAML.parse(partnerYaml(JSON.stringify(document), document, GATEWAY))).toEqual({ ...document, servers: [{ url: GATEWAY }] })
  })
})

describe('parseDocumentText', () => {
  it('reads JSON as JSON and anything else as YAML, keeping key order', () => {
    expect(parseDocumentText(' {"b": 1, "a": 2}')).toEqual({ document: { b: 1, a: 2 }, format: 'json' })
    const yaml = parseDocumentText('b: 1\na: [x]\n')
    expect(yaml.format).toBe('yaml')
    expect(Object.keys(yaml.document as object)).toEqual(['b', 'a'])
  })

  it('says where YAML or JSON is broken', () => {
    expect(() => parseDocumentText('{"a": ')).toThrow(/not valid JSON/)
    expect(() => parseDocumentText('a: [1\nb: 2')).toThrow(/valid YAML: .*line 2/)
  })
})
