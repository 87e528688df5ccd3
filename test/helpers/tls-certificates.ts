// A throwaway PKI made with the openssl CLI in a temp dir, as an operator would make one: a CA,
// a server certificate for 127.0.0.1 / localhost / upstream.test signed by it, a client
// certificate signed by it, and a second CA that signed nothing of these.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

export interface TestPki {
  caCertificate: string
  /** a CA that did not sign the server certificate */
  otherCaCertificate: string
  serverCertificate: string
  serverKey: string
  clientCertificate: string
  clientKey: string
  /** subject CN of the client certificate */
  clientName: string
  /** the DNS name in the server certificate that is neither localhost nor an address */
  serverName: string
  /** a server certificate naming only `serverName` (no address, no localhost) */
  namedOnlyServerCertificate: string
  namedOnlyServerKey: string
}

function openssl (cwd: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

function makeCa (dir: string, name: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
}

function issue (dir: string, name: string, subject: string, extensions: string): void {
  writeFileSync(path.join(dir, `${name}.ext`), extensions)
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject)
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`)
}

export function createTestPki (): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-pki-'))
  try {
    makeCa(dir, 'ca')
    makeCa(dir, 'other-ca')
    const serverName = 'upstream.test'
    issue(dir, 'server', '/CN=upstream', `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${serverName}\n`)
    issue(dir, 'named-server', `/CN=${serverName}`, `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${serverName}\n`)
    issue(dir, 'client', '/O=Partner Gateway/CN=gateway-client', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n')
    const read = (file: string): string => readFileSync(path.join(dir, file), 'utf8')
    return {
      caCertificate: read('ca.crt'),
      otherCaCertificate: read('other-ca.crt'),
      serverCertificate: read('server.crt'),
      serverKey: read('server.key'),
      clientCertificate: read('client.crt'),
      clientKey: read('client.key'),
      clientName: 'gateway-client',
      serverName,
      namedOnlyServerCertificate: read('named-server.crt'),
      namedOnlyServerKey: read('named-server.key')
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
