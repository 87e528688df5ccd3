// `partner-gateway` as a real child process (through tsx, no build needed), for tests that
// kill it, start it twice or call its CLI next to it.
import { spawn, type ChildProcess } from 'node:child_process'

const CLI = ['--import', 'tsx', 'src/cli.ts']
export const CLI_ADMIN_TOKEN = 'cli-process-admin-token'

export interface StartedGateway {
  child: ChildProcess
  controlUrl: string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** everything printed so far */
  output: () => string
}

export function embeddedEnvironment (dataDir: string): NodeJS.ProcessEnv {
  return { ...process.env, DATA_DIR: dataDir, GATEWAY_PORT: '0', CONTROL_PORT: '0', HOST: '127.0.0.1', GATEWAY_ADMIN_TOKEN: CLI_ADMIN_TOKEN, LOG_LEVEL: 'warn', SEED_DEMO: 'false' }
}

/** `partner-gateway start`, resolved once its control API answers. */
export async function startGateway (environment: NodeJS.ProcessEnv): Promise<StartedGateway> {
  const child = spawn(process.execPath, [...CLI, 'start'], { env: environment, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => { child.once('exit', (code, signal) => { resolve({ code, signal }) }) })
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const controlUrl = /control API: +(http:\/\/\S+)\/admin\/v1/.exec(output)?.[1]
    if (controlUrl !== undefined) return { child, controlUrl, exited, output: () => output }
    if (child.exitCode !== null) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`partner-gateway start did not come up:\n${output}`)
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** `partner-gateway ...args`, run to its exit. */
export async function runCli (environment: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return await runCliWithStdin(environment, undefined, ...args)
}

/** Runs the CLI with `stdin` on its standard input, as an operator pipes a password to it. */
export async function runCliWithStdin (environment: NodeJS.ProcessEnv, stdin: string | undefined, ...args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [...CLI, ...args], { env: environment })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  child.stdin.end(stdin)
  const code = await new Promise<number | null>(resolve => { child.once('close', resolve) })
  return { code, stdout, stderr }
}

export async function admin (controlUrl: string, method: string, path: string, body?: unknown): Promise<Response> {
  return await fetch(`${controlUrl}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${CLI_ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
}

/** Names of every operator token, through the control API. */
export async function adminTokenNames (controlUrl: string): Promise<string[]> {
  const names: string[] = []
  let cursor: string | null = null
  do {
    const page = await (await admin(controlUrl, 'GET', `/admin-tokens?limit=200${cursor === null ? '' : `&cursor=${cursor}`}`)).json() as { items: Array<{ name: string }>, nextCursor: string | null }
    names.push(...page.items.map(item => item.name))
    cursor = page.nextCursor
  } while (cursor !== null)
  return names
}
