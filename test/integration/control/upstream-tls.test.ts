// /admin/v1/upstreams `tls`: PEM checked at the edge (garbage is a 400 that says what is
// wrong, never a 500), the client key sealed at rest and never returned, fields merged on PATCH.
import { createPrivateKey } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DATABASE_KINDS } from '../../helpers/database.js'
import { startControlServer, type TestControlServer } from '../../helpers/control-server.js'
import { createTestPki, type TestPki } from '../../helpers/tls-certificates.js'
import { expectAuditedWrite, expectRefused, unique } from './fixtures.js'

const HTTPS_TARGETS = [{ url: 'https://orders.internal:8443' }]

/** A line from the middle of a PEM body: text no answer may contain if the PEM is secret. */
function innerLine (pem: string): string {
  return pem.trim().split('\n')[3]
}

describe('upstream TLS settings', () => {
  let pki: TestPki
  beforeAll(() => { pki = createTestPki() })

  describe.each(DATABASE_KINDS)('on %s', kind => {
    let server: TestControlServer
    beforeAll(async () => { server = await startControlServer(kind) })
    afterAll(async () => { await server?.close() })

    it('stores a CA bundle, client certificate, servername and sealed key; answers only whether a key is set, anywhere', async () => {
      const tls = { caBundle: pki.caCertificate, clientCertificate: pki.clientCertificate, clientKey: pki.clientKey, servername: 'orders.internal' }
      const created = await expectAuditedWrite(server, 'upstream.create', async () => await server.call('POST', '/admin/v1/upstreams', { name: unique('tls'), targets: HTTPS_TARGETS, tls }))
      expect(created.status).toBe(201)
      expect(created.body.tls).toEqual({ caBundle: pki.caCertificate, clientCertificate: pki.clientCertificate, clientKeySet: true, servername: 'orders.internal', insecureSkipVerify: false })
      const id = created.body.id as string

      const row = await server.database.prisma.upstream.findUniqueOrThrow({ where: { id } })
      expect(row.tlsClientKeyCiphertext).toMatch(/^v1:/)
      expect(row.tlsClientKeyCiphertext).not.toContain(innerLine(pki.clientKey))
      expect(server.secretBox.decrypt(row.tlsClientKeyCiphertext as string)).toBe(pki.clientKey)

      const answers = [
        created.body,
        (await server.call('GET', `/admin/v1/upstreams/${id}`)).body,
        (await server.call('GET', '/admin/v1/upstreams?limit=200')).body,
        (await server.call('PATCH', `/admin/v1/upstreams/${id}`, { tls: { clientCertificate: pki.clientCertificate, clientKey: pki.clientKey } })).body,
        (await server.call('GET', `/admin/v1/audit?targetId=${id}`)).body
      ]
      for (const answer of answers) {
        const text = JSON.stringify(answer)
        expect(text).not.toContain(innerLine(pki.clientKey))
        expect(text).not.toContain('PRIVATE KEY')
      }
      expect(answers[4].items.map((entry: { details: { tls: { clientKey: string } } }) => entry.details.tls.clientKey)).toEqual(['(sealed)', '(sealed)'])
    })

    it('changes only the TLS fields a PATCH names, clears one with null and all with tls: null', async () => {
      const created = await server.call('POST', '/admin/v1/upstreams', { name: unique('tls'), targets: HTTPS_TARGETS, tls: { caBundle: pki.caCertificate, clientCertificate: pki.clientCertificate, clientKey: pki.clientKey } })
      const path = `/admin/v1/upstreams/${created.body.id as string}`
      const renamed = await expectAuditedWrite(server, 'upstream.update', async () => await server.call('PATCH', path, { tls: { servername: 'orders.internal' } }), created.body.id)
      expect(renamed.body.tls).toEqual({ caBundle: pki.caCertificate, clientCertificate: pki.clientCertificate, clientKeySet: true, servername: 'orders.internal', insecureSkipVerify: false })
      // other fields leave TLS alone
      expect((await server.call('PATCH', path, { loadBalancing: 'least-connections' })).body.tls.clientKeySet).toBe(true)
      const withoutCa = await server.call('PATCH', path, { tls: { caBundle: null, insecureSkipVerify: true } })
      expect(withoutCa.body.tls).toMatchObject({ caBundle: null, clientKeySet: true, insecureSkipVerify: true })
      const withoutClient = await server.call('PATCH', path, { tls: { clientCertificate: null, clientKey: null } })
      expect(withoutClient.body.tls).toMatchObject({ clientCertificate: null, clientKeySet: false, servername: 'orders.internal' })
      expect((await server.database.prisma.upstream.findUniqueOrThrow({ where: { id: created.body.id } })).tlsClientKeyCiphertext).toBeNull()
      expect((await server.call('PATCH', path, { tls: null })).body.tls).toBeNull()
      // nothing set is no TLS configuration at all
      expect((await server.call('PATCH', path, { tls: {} })).body.tls).toBeNull()
    })

    it('refuses garbage PEM, mismatched or encrypted keys, addresses as servername and TLS without https targets with 400, writing nothing', async () => {
      const encryptedKey = createPrivateKey(pki.clientKey).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string
      const corrupted = pki.caCertificate.replace(innerLine(pki.caCertificate), 'A'.repeat(64))
      const refusals: Array<[unknown, RegExp]> = [
        [{ caBundle: 'not a certificate' }, /tls\.caBundle must be PEM text/],
        [{ caBundle: '' }, /tls\.caBundle must be PEM text/],
        [{ caBundle: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n' }, /tls\.caBundle: certificate number 1 is not a valid X\.509 certificate/],
        [{ caBundle: `${pki.caCertificate}${corrupted}` }, /certificate number 2 is not a valid/],
        [{ caBundle: pki.clientKey }, /tls\.caBundle holds a PRIVATE KEY block/],
        [{ clientCertificate: pki.clientCertificate }, /set, and cleared, together/],
        [{ clientKey: pki.clientKey }, /set, and cleared, together/],
        [{ clientCertificate: pki.clientCertificate, clientKey: null }, /set, and cleared, together/],
        [{ clientCertificate: 'garbage', clientKey: pki.clientKey }, /tls\.clientCertificate must be PEM text/],
        [{ clientCertificate: pki.clientCertificate, clientKey: 'garbage' }, /tls\.clientKey must be exactly one PEM private key block/],
        [{ clientCertificate: pki.clientCertificate, clientKey: '-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----' }, /tls\.clientKey is not a valid private key/],
        [{ clientCertificate: pki.clientCertificate, clientKey: pki.serverKey }, /does not belong to tls\.clientCertificate/],
        [{ clientCertificate: pki.clientCertificate, clientKey: encryptedKey }, /encrypted with a passphrase/],
        [{ clientCertificate: pki.clientCertificate, clientKey: pki.clientCertificate }, /holds a CERTIFICATE block, not a private key/],
        [{ servername: '10.0.0.1' }, /DNS name/],
        [{ servername: 'bad name' }, /servername/],
        [{ servername: '' }, /servername/],
        [{ insecureSkipVerify: 'yes' }, /insecureSkipVerify/],
        [{ verify: false }, /additional properties/],
        ['-----BEGIN CERTIFICATE-----', /tls/]
      ]
      for (const [tls, message] of refusals) {
        await expectRefused(server, async () => await server.call('POST', '/admin/v1/upstreams', { name: unique('bad-tls'), targets: HTTPS_TARGETS, tls }), 400, 'VALIDATION_FAILED', message)
      }
      await expectRefused(server, async () => await server.call('POST', '/admin/v1/upstreams', { name: unique('bad-tls'), targets: [{ url: 'http://orders.internal' }], tls: { caBundle: pki.caCertificate } }), 400, 'VALIDATION_FAILED', /apply to https:\/\/ targets/)

      const existing = await server.call('POST', '/admin/v1/upstreams', { name: unique('tls'), targets: HTTPS_TARGETS, tls: { caBundle: pki.caCertificate } })
      const path = `/admin/v1/upstreams/${existing.body.id as string}`
      await expectRefused(server, async () => await server.call('PATCH', path, { tls: { caBundle: 'garbage' } }), 400, 'VALIDATION_FAILED', /tls\.caBundle/)
      // moving to plain http targets while TLS is set would leave it silently unused
      await expectRefused(server, async () => await server.call('PATCH', path, { targets: [{ url: 'http://orders.internal' }] }), 400, 'VALIDATION_FAILED', /apply to https:\/\/ targets/)
      expect((await server.call('PATCH', path, { targets: [{ url: 'http://orders.internal' }], tls: null })).status).toBe(200)
      expect((await server.call('GET', path)).body.tls).toBeNull()
    })
  })
})
