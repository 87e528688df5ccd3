// The CLI as an operator runs it: migrate, admin-token create, sign; on the embedded
// database next to a running server (through it) and backup/restore.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256Hex } from '../../src/domain/crypto.js'
import { admin, adminTokenNames, embeddedEnvironment, runCli, startGateway, type StartedGateway } from '../helpers/cli-process.js'
import { createMigratedDataDir, createTestDatabase, type TestDatabase } from '../helpers/database.js'

describe('partner-gateway CLI against PostgreSQL', () => {
  let database: TestDatabase
  let environment: NodeJS.ProcessEnv
  beforeAll(async () => {
    database = await createTestDatabase('postgresql')
    environment = { ...process.env, DATABASE_URL: database.url, GATEWAY_MASTER_KEY: randomBytes(32).toString('hex'), LOG_LEVEL: 'silent' }
  })
  afterAll(async () => { await database?.drop() })

  /** The CLI's output, once it exited with 0. */
  async function cli (...args: string[]): Promise<{ stdout: string, stderr: string }> {
    const result = await runCli(environment, ...args)
    expect(result.code, result.stderr).toBe(0)
    return result
  }

  it('creates an operator token that is stored only as a hash', async () => {
    await cli('migrate')
    const { stdout } = await cli('admin-token', 'create', '--name', 'ci', '--scope', 'read')
    const token = stdout.trim().split('\n').pop() as string
    expect(token).toMatch(/^pgw_op_/)
    const stored = await database.prisma.adminToken.findFirstOrThrow({ where: { name: 'ci' } })
    expect(stored).toMatchObject({ tokenHash: sha256Hex(token), scopes: ['read'] })
  })

  it('rotates the token signing key', async () => {
    const first = await cli('keys', 'rotate')
    const second = await cli('keys', 'rotate')
    const kid = (output: string): string => /new signing key (\S+);/.exec(output)?.[1] ?? ''
    expect(second.stdout).toContain(`retired ${kid(first.stdout)}`)
    const keys = await database.prisma.signingKey.findMany({ orderBy: { createdAt: 'asc' } })
    expect(keys.map(key => key.retiredAt === null)).toEqual([false, true])
    expect(keys[1].privateJwkCiphertext).toMatch(/^v1:/)
  })

  it('prints a signed curl line', async () => {
    const { stdout } = await cli('sign', '--key', 'k1', '--secret', 's1', '--method', 'post', '--data', '{"a":1}', 'http://localhost:8080/orders?x=1')
    expect(stdout).toMatch(/^curl -sS -X POST 'http:\/\/localhost:8080\/orders\?x=1'/)
    expect(stdout).toContain("-H 'X-Ca-Key: k1'")
    expect(stdout).toContain("-H 'Content-MD5: ")
    expect(stdout).toMatch(/X-Ca-Signature: [A-Za-z0-9+/=]{44}'/)
  })

  it('names the bad setting when the configuration is invalid', async () => {
    await cli('migrate')
    const bad = await runCli({ ...environment, GATEWAY_PORT: '99999' }, 'migrate')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('GATEWAY_PORT')
  })
})

// every start of a child process loads tsx and PGlite: seconds each on a busy 2-core machine
describe('partner-gateway CLI on the embedded database', { timeout: 180_000 }, () => {
  let dataDir: string
  let environment: NodeJS.ProcessEnv
  let gateway: StartedGateway | undefined
  beforeAll(() => {
    dataDir = createMigratedDataDir('pgw-cli-')
    environment = embeddedEnvironment(dataDir)
  })
  afterAll(async () => {
    gateway?.child.kill('SIGKILL')
    await gateway?.exited
    rmSync(dataDir, { recursive: true, force: true })
  })

  async function stop (): Promise<void> {
    gateway?.child.kill('SIGTERM')
    expect(await gateway?.exited).toEqual({ code: 0, signal: null })
    gateway = undefined
  }

  it('runs admin-token create inside the running server: the token works at once and outlives a SIGKILL', async () => {
    gateway = await startGateway(environment)
    const created = await runCli(environment, 'admin-token', 'create', '--name', 'next-to-the-server')
    expect(created.code).toBe(0)
    expect(created.stderr).toContain(`owned by partner-gateway start (pid ${gateway.child.pid as number}); running the command there`)
    const token = created.stdout.trim().split('\n').pop() as string
    const withToken = async (url: string): Promise<number> => (await fetch(`${url}/admin/v1/admin-tokens`, { headers: { authorization: `Bearer ${token}` } })).status
    expect(await withToken(gateway.controlUrl)).toBe(200)
    expect((await admin(gateway.controlUrl, 'POST', '/admin-tokens', { name: 'after-the-cli', scopes: ['read'] })).status).toBe(201)

    gateway.child.kill('SIGKILL')
    await gateway.exited
    gateway = await startGateway(environment)
    expect(await withToken(gateway.controlUrl)).toBe(200)
    expect(await adminTokenNames(gateway.controlUrl)).toEqual(['next-to-the-server', 'after-the-cli'])
    const audit = await (await admin(gateway.controlUrl, 'GET', '/audit?action=admin-token.create')).json() as { items: Array<{ actor: string }> }
    expect(audit.items.map(entry => entry.actor)).toContain('cli')
  })

  it('runs keys rotate, seed and migrate inside the running server', async () => {
    const running = gateway as StartedGateway
    const rotated = await runCli(environment, 'keys', 'rotate')
    expect(rotated.stdout).toMatch(/^new signing key \S+; retired none/)
    const published = await (await admin(running.controlUrl, 'GET', '/signing-keys')).json() as { items: Array<{ kid: string }> }
    expect(published.items.map(key => key.kid)).toContain(/new signing key (\S+);/.exec(rotated.stdout)?.[1])
    expect((await runCli(environment, 'seed')).stdout).toContain('Demo app')
    expect((await (await admin(running.controlUrl, 'GET', '/partners')).json() as { items: Array<{ name: string }> }).items.map(partner => partner.name)).toEqual(['Demo Partner'])
    const migrated = await runCli(environment, 'migrate')
    expect({ code: migrated.code, stdout: migrated.stdout.trim() }).toEqual({ code: 0, stdout: 'migrations applied; the database is up to date' })
  })

  it('backs up while the server runs, and restores the state of that moment after later writes', async () => {
    const backupFile = path.join(dataDir, '..', `${path.basename(dataDir)}-running.tgz`)
    const backedUp = await runCli(environment, 'backup', '--out', backupFile)
    expect(backedUp.code).toBe(0)
    expect(statSync(backupFile).mode & 0o077).toBe(0)
    expect((await admin((gateway as StartedGateway).controlUrl, 'POST', '/admin-tokens', { name: 'after-the-backup', scopes: ['read'] })).status).toBe(201)

    const whileRunning = await runCli(environment, 'restore', '--from', backupFile)
    expect(whileRunning.code).toBe(1)
    expect(whileRunning.stderr).toContain(`in use by partner-gateway start (pid ${(gateway as StartedGateway).child.pid as number}); stop it before restoring`)
    await stop()

    const withoutForce = await runCli(environment, 'restore', '--from', backupFile)
    expect(withoutForce.code).toBe(1)
    expect(withoutForce.stderr).toContain('already holds a database; restore over it with --force')
    expect((await runCli(environment, 'restore', '--from', backupFile, '--force')).code).toBe(0)
    gateway = await startGateway(environment)
    expect(await adminTokenNames(gateway.controlUrl)).toEqual(['next-to-the-server', 'after-the-cli'])
    rmSync(backupFile)
  })

  it('backs up and restores with no server running, into an empty DATA_DIR', async () => {
    await stop()
    const backupFile = path.join(dataDir, '..', `${path.basename(dataDir)}-stopped.tgz`)
    expect((await runCli(environment, 'backup', '--out', backupFile)).code).toBe(0)
    const emptyDir = mkdtempSync(path.join(tmpdir(), 'pgw-cli-restored-'))
    try {
      const restoredEnvironment = { ...embeddedEnvironment(emptyDir), GATEWAY_MASTER_KEY: readFileSync(path.join(dataDir, 'master.key'), 'utf8').trim() }
      expect((await runCli(restoredEnvironment, 'restore', '--from', backupFile)).code).toBe(0)
      const restored = await startGateway(restoredEnvironment)
      try {
        expect(await adminTokenNames(restored.controlUrl)).toEqual(['next-to-the-server', 'after-the-cli'])
      } finally {
        restored.child.kill('SIGTERM')
        await restored.exited
      }
    } finally {
      rmSync(emptyDir, { recursive: true, force: true })
      rmSync(backupFile)
    }
  })
})
