// Calls from another loopback address (127.0.0.2, 127.0.0.3, …): Linux delivers all of
// 127.0.0.0/8 on the loopback interface, so one test can be several clients with their own IPs.
import { Agent, fetch as undiciFetch, type RequestInit, type Response } from 'undici'

/** fetch() over a connection whose local (source) address is `localAddress`; the body is read before the connection closes. */
export async function fetchFrom (localAddress: string, url: string, init: RequestInit = {}): Promise<{ response: Response, text: string }> {
  const dispatcher = new Agent({ localAddress })
  try {
    const response = await undiciFetch(url, { ...init, dispatcher })
    return { response, text: await response.text() }
  } finally {
    await dispatcher.close()
  }
}
