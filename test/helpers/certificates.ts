// A throwaway certificate authority made with the `openssl` CLI, issuing server certificates
// for the names a test needs (subjectAltName DNS entries, wildcards included).
import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface IssuedCertificate {
  cert: string
  key: string
}

export interface TestCa {
  /** the CA certificate (PEM), for clients' `ca` option */
  ca: string
  /** where the certificates and keys of the test can live */
  dir: string
  /** a certificate for `names` (subjectAltName; the first also as CN), signed by this CA, with a fresh EC key */
  issue: (names: string[], options?: { commonName?: string }) => Promise<IssuedCertificate>
  close: () => void
}

function requireOpenssl (): void {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
  } catch {
    throw new Error('these tests make their certificates with the openssl CLI: install openssl')
  }
}

export async function createTestCa (): Promise<TestCa> {
  requireOpenssl()
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-tls-'))
  const caKey = path.join(dir, 'ca.key')
  const caCert = path.join(dir, 'ca.crt')
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '2', '-subj', '/CN=partner-gateway test CA'])
  let issued = 0
  return {
    ca: readFileSync(caCert, 'utf8'),
    dir,
    async issue (names, options = {}) {
      const base = path.join(dir, `issued-${++issued}`)
      const extensions = `${base}.ext`
      writeFileSync(extensions, `${names.length > 0 ? `subjectAltName=${names.map(name => `DNS:${name}`).join(',')}\n` : ''}extendedKeyUsage=serverAuth\n`)
      await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${options.commonName ?? names[0]}`])
      await run('openssl', ['x509', '-req', '-in', `${base}.csr`, '-CA', caCert, '-CAkey', caKey, '-set_serial', String(1000 + issued), '-days', '2', '-extfile', extensions, '-out', `${base}.crt`])
      return { cert: readFileSync(`${base}.crt`, 'utf8'), key: readFileSync(`${base}.key`, 'utf8') }
    },
    close () {
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Writes a file the way renewal tools do: a new file renamed over the old one. */
export function replaceFile (file: string, content: string): void {
  writeFileSync(`${file}.new`, content)
  renameSync(`${file}.new`, file)
}
