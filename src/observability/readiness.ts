// Readiness (`/readyz`) as opposed to liveness (`/healthz`): whether this process should get
// traffic now. Every dependency is probed with a deadline, so a silent network can make a
// probe say "down" but never make the endpoint hang; a draining process is never ready.

export type DependencyState = 'up' | 'down' | 'absent'

/** Shared by the servers of one process: set when shutdown begins. */
export interface Lifecycle {
  draining: boolean
}

export async function probeWithDeadline (check: () => Promise<unknown>, deadlineMs: number): Promise<'up' | 'down'> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<'down'>(resolve => { timer = setTimeout(() => { resolve('down') }, deadlineMs) })
  try {
    return await Promise.race([check().then(() => 'up' as const, () => 'down' as const), deadline])
  } finally {
    clearTimeout(timer)
  }
}

export interface ReadinessReport {
  status: 'ready' | 'draining' | 'not_ready'
  [detail: string]: unknown
}

/** 200 when ready, 503 otherwise: what load balancers and orchestrators read. */
export function readinessStatusCode (report: ReadinessReport): number {
  return report.status === 'ready' ? 200 : 503
}
