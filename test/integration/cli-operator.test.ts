// `partner-gateway operator create`: the first console admin, with the password read from
// stdin or generated and printed once; on the embedded database through the running server.
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { embeddedEnvironment, runCli, runCliWithStdin, startGateway, type StartedGateway } from '../helpers/cli-process.js'
import { createMigratedDataDir } from '../helpers/database.js'

async function signIn (controlUrl: string, email: string, password: string): Promise<{ status: number, body: any }> {
  const response = await fetch(`${controlUrl}/admin/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })
  return { status: response.status, body: await response.json() }
}

describe('partner-gateway operator create on the embedded database', { timeout: 120_000 }, () => {
  let dataDir: string
  let environment: NodeJS.ProcessEnv
  let gateway: StartedGateway | undefined

  beforeAll(() => {
    dataDir = createMigratedDataDir('pgw-operator-')
    environment = embeddedEnvironment(dataDir)
  })
  afterAll(async () => {
    if (gateway !== undefined && gateway.child.exitCode === null) {
      gateway.child.kill('SIGTERM')
      await gateway.exited
    }
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('creates the first admin with a generated password while no server runs, then a viewer through the running server with a password from stdin', async () => {
    const first = await runCli(environment, 'operator', 'create', '--email', 'Root@Example.com')
    expect(first.code, first.stderr).toBe(0)
    const generated = first.stdout.trim().split('\n').pop() as string
    expect(first.stdout).toContain('operator root@example.com (admin) created')
    expect(generated).toMatch(/^[A-Za-z0-9_-]{27}$/)

    gateway = await startGateway(environment)
    expect(gateway.output()).toContain(`console:      ${gateway.controlUrl}/console`)
    const admin = await signIn(gateway.controlUrl, 'root@example.com', generated)
    expect(admin.body.operator).toMatchObject({ email: 'root@example.com', role: 'admin' })

    const second = await runCliWithStdin(environment, 'typed by the operator\n', 'operator', 'create', '--email', 'watcher@example.com', '--role', 'viewer', '--password-stdin')
    expect(second.code, second.stderr).toBe(0)
    expect(second.stderr).toContain('running the command there')
    expect(second.stdout).not.toContain('typed by the operator')
    expect((await signIn(gateway.controlUrl, 'watcher@example.com', 'typed by the operator')).body.operator.role).toBe('viewer')

    const again = await runCli(environment, 'operator', 'create', '--email', 'root@example.com')
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/409 CONFLICT: An operator with the email root@example.com already exists/)
    const short = await runCliWithStdin(environment, 'short\n', 'operator', 'create', '--email', 'x@example.com', '--password-stdin')
    expect(short.code).toBe(1)
    expect(short.stderr).toContain('10 to 200 characters')
  })
})
