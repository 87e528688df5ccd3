// The processes a benchmark runs and what the kernel says they cost: CPU ticks and RSS read
// from /proc, children started and stopped by their pid, the helper servers compiled to
// plain JavaScript (the tsx loader would add a loader thread and ~40 MB to their RSS).
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { freePort } from '../../test/helpers/ports.js'

export { freePort }

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())

/** utime + stime of one process in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
function processTicks (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // the command name (field 2) may hold spaces and parentheses: count fields after its closing one
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

function parentPid (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch {
    return undefined
  }
}

/** The pid and every descendant's (cluster workers, nginx's worker). */
export function processTree (pid: number): number[] {
  const all = readdirSync('/proc').filter(name => /^\d+$/.test(name)).map(Number)
  const tree = [pid]
  for (let index = 0; index < tree.length; index++) {
    for (const candidate of all) if (parentPid(candidate) === tree[index]) tree.push(candidate)
  }
  return tree
}

/** CPU seconds (user + system) spent so far by the given processes. */
export function cpuSeconds (pids: number[]): number {
  return pids.reduce((sum, pid) => sum + processTicks(pid), 0) / CLOCK_TICKS_PER_SECOND
}

/** Resident set size of the given processes, MB. */
export function rssMegabytes (pids: number[]): number {
  let kilobytes = 0
  for (const pid of pids) {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    kilobytes += Number(match?.[1] ?? 0)
  }
  return kilobytes / 1024
}

export interface Child {
  process: ChildProcess
  pid: number
  stop: () => Promise<void>
}

const running = new Set<Child>()

/** Starts a child that is stopped with SIGTERM (then SIGKILL after `graceMs`) by stopAll() if not before. */
export function startChild (command: string, args: string[], options: SpawnOptions & { logFile?: string, graceMs?: number } = {}): Child {
  const output = options.logFile !== undefined ? openSync(options.logFile, 'a') : 'ignore'
  const child = spawn(command, args, { stdio: ['ignore', output, output], ...options })
  if (child.pid === undefined) throw new Error(`could not start ${command}`)
  const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
  const handle: Child = {
    process: child,
    pid: child.pid,
    async stop () {
      running.delete(handle)
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => { child.kill('SIGKILL') }, options.graceMs ?? 10_000)
      await exited
      clearTimeout(timer)
    }
  }
  running.add(handle)
  return handle
}

export async function stopAll (): Promise<void> {
  await Promise.all([...running].map(async child => { await child.stop() }))
}

/** Waits until GET url answers 200, or throws after `timeoutMs`. */
export async function waitForHttp (url: string, timeoutMs = 60_000, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child !== undefined && child.process.exitCode !== null) throw new Error(`the process serving ${url} exited with ${child.process.exitCode}`)
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await response.arrayBuffer()
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/**
 * Compiles a bench TypeScript server (no imports of other TypeScript files) to JavaScript in
 * dist/bench, where its package imports resolve from the repository's node_modules.
 */
export function compileHelper (repository: string, source: string): string {
  const output = path.join(repository, 'dist', 'bench', path.basename(source).replace(/\.ts$/, '.js'))
  mkdirSync(path.dirname(output), { recursive: true })
  const compiled = ts.transpileModule(readFileSync(path.join(repository, source), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }
  })
  writeFileSync(output, compiled.outputText)
  return output
}

/** Starts a compiled helper server that reports its port over IPC. */
export async function startHelperServer (script: string, args: string[], logFile: string, nodeFlags: string[] = []): Promise<{ child: Child, port: number }> {
  const child = startChild(process.execPath, [...nodeFlags, script, ...args], { stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a'), 'ipc'] })
  const port = await new Promise<number>((resolve, reject) => {
    child.process.once('message', message => { resolve((message as { port: number }).port) })
    child.process.once('exit', code => { reject(new Error(`${script} exited with ${code}`)) })
  })
  return { child, port }
}

/** A private redis-server: its CPU and its INFO commandstats belong to this benchmark alone. */
export async function startPrivateRedis (logFile: string): Promise<{ child: Child, port: number, url: string }> {
  const port = await freePort()
  const child = startChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { logFile })
  const deadline = Date.now() + 10_000
  for (;;) {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'pipe' })
      break
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
  return { child, port, url: `redis://127.0.0.1:${port}` }
}

/**
 * nginx with one worker, proxying to `upstreamUrl` over kept-alive connections. Runs in the
 * foreground (daemon off) with its configuration, pid, logs and temp files in `directory`.
 */
export async function startNginx (directory: string, upstreamUrl: string): Promise<{ child: Child, port: number }> {
  const port = await freePort()
  const upstream = new URL(upstreamUrl)
  mkdirSync(path.join(directory, 'logs'), { recursive: true })
  const config = `worker_processes 1;
daemon off;
pid ${directory}/nginx.pid;
error_log ${directory}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log ${directory}/logs/access.log;
  client_body_temp_path ${directory}/client_body;
  proxy_temp_path ${directory}/proxy;
  fastcgi_temp_path ${directory}/fastcgi;
  uwsgi_temp_path ${directory}/uwsgi;
  scgi_temp_path ${directory}/scgi;
  upstream bench { server ${upstream.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location /bench/ {
      proxy_pass http://bench/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`
  const configFile = path.join(directory, 'nginx.conf')
  writeFileSync(configFile, config)
  const child = startChild('nginx', ['-e', path.join(directory, 'logs', 'error.log'), '-p', directory, '-c', configFile], { logFile: path.join(directory, 'logs', 'stderr.log') })
  await waitForHttp(`http://127.0.0.1:${port}/bench/items`, 10_000, child)
  return { child, port }
}
