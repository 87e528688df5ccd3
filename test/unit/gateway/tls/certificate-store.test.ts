// The TLS port's certificates as read from their files: a pair that does not load is refused
// at start with its files named, and on a reload keeps the previous certificate in use.
import { X509Certificate } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CertificateStore, type LoadedCertificate } from '../../../../src/gateway/tls/certificate-store.js'
import { createTestCa, replaceFile, type IssuedCertificate, type TestCa } from '../../../helpers/certificates.js'

const log = pino({ level: 'silent' })

describe('certificate store', () => {
  let ca: TestCa
  let first: IssuedCertificate
  let second: IssuedCertificate
  const files = (name: string): { certFile: string, keyFile: string } => ({ certFile: path.join(ca.dir, `${name}.crt`), keyFile: path.join(ca.dir, `${name}.key`) })
  const write = (name: string, certificate: IssuedCertificate): void => {
    writeFileSync(files(name).certFile, certificate.cert)
    writeFileSync(files(name).keyFile, certificate.key)
  }

  beforeAll(async () => {
    ca = await createTestCa()
    first = await ca.issue(['one.test'])
    second = await ca.issue(['two.test', '*.two.test'])
  })
  afterAll(() => { ca?.close() })

  it('refuses to start with a pair that does not load, naming its files', async () => {
    write('good', first)
    writeFileSync(files('mismatched').certFile, first.cert)
    writeFileSync(files('mismatched').keyFile, second.key)
    writeFileSync(files('garbage').certFile, 'not a certificate')
    writeFileSync(files('garbage').keyFile, second.key)
    await expect(CertificateStore.open([files('good'), files('mismatched')], { minVersion: 'TLSv1.2', log })).rejects.toThrow(/mismatched\.crt.*does not belong/)
    await expect(CertificateStore.open([files('garbage')], { minVersion: 'TLSv1.2', log })).rejects.toThrow(/TLS certificate .*garbage\.crt/)
    await expect(CertificateStore.open([files('good'), files('absent')], { minVersion: 'TLSv1.2', log })).rejects.toThrow(/absent\.crt.*ENOENT/)
  })

  it('reloads changed pairs, keeps unchanged and broken ones, and says which', async () => {
    write('a', first)
    write('b', second)
    const reloads: Array<[string, string]> = []
    const store = await CertificateStore.open([files('a'), files('b')], { minVersion: 'TLSv1.2', log, onReload: (certificate: LoadedCertificate, result) => { reloads.push([path.basename(certificate.files.certFile), result]) } })
    const [a, b] = store.certificates
    expect(store.defaultCertificate).toBe(a)
    expect(b.names).toEqual(['two.test', '*.two.test'])
    expect(store.contextFor('x.two.test')).toBe(b.context)
    expect(store.contextFor('elsewhere.test')).toBe(a.context)

    const renewed = await ca.issue(['two.test', '*.two.test'])
    replaceFile(files('b').keyFile, renewed.key)
    replaceFile(files('b').certFile, renewed.cert)
    replaceFile(files('a').certFile, 'truncated')
    await store.reload()
    expect(reloads).toEqual([['a.crt', 'failed'], ['b.crt', 'reloaded']])
    expect(store.defaultCertificate).toBe(a)
    expect(store.certificates[1].fingerprint256).toBe(new X509Certificate(renewed.cert).fingerprint256)
    expect(store.contextFor('two.test')).toBe(store.certificates[1].context)

    reloads.length = 0
    replaceFile(files('a').certFile, first.cert)
    await store.reload()
    expect(reloads).toEqual([])
    expect(store.defaultCertificate).toBe(a)
  })
})
