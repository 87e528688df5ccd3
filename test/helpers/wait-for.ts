// Polls a condition until it holds, bounded: a test that waits for the system under test to get
// somewhere fails saying what it waited for, instead of hanging until the test's own timeout.
export async function waitFor (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}
