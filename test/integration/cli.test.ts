// The CLI as an operator runs it: migrate, admin-token create, sign.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sha256Hex } from '../../src/domain/crypto.js'
import { createTestDatabase, type TestDatabase } from '../helpers/database.js'

const run = promisify(execFile)

describe('partner-gateway CLI against PostgreSQL', () => {
  let database: TestDatabase
  let environment: NodeJS.ProcessEnv
  beforeAll(async () => {
    database = await createTestDatabase('postgresql')
    environment = { ...process.env, DATABASE_URL: database.url, GATEWAY_MASTER_KEY: randomBytes(32).toString('hex'), LOG_LEVEL: 'silent' }
  })
  afterAll(async () => { await database?.drop() })

  async function cli (...args: string[]): Promise<{ stdout: string, stderr: string }> {
    return await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: environment })
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
    const failure = await cli('migrate').then(() => undefined, (error: { stderr: string, code: number }) => error)
    expect(failure).toBeUndefined()
    const bad = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], { env: { ...environment, GATEWAY_PORT: '99999' } }).then(() => undefined, (error: { stderr: string, code: number }) => error)
    expect(bad?.code).toBe(1)
    expect(bad?.stderr).toContain('GATEWAY_PORT')
  })
})
