// A real SMTP server on port 0 (the `smtp-server` package) that keeps every message it is
// given, decoded enough to read its recipient, subject, text and links.
import { SMTPServer } from 'smtp-server'

export interface CapturedMail {
  from: string
  to: string[]
  subject: string
  text: string
  /** the user the client authenticated as, if it did */
  user: string | undefined
  raw: string
}

export interface SmtpCapture {
  port: number
  url: string
  messages: CapturedMail[]
  /** Resolves with the first message (already received or still to come) that matches. */
  waitFor: (match: (mail: CapturedMail) => boolean, timeoutMs?: number) => Promise<CapturedMail>
  close: () => Promise<void>
}

function decodeQuotedPrintable (text: string): string {
  const bytes = text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)))
  return Buffer.from(bytes, 'latin1').toString('utf8')
}

/** RFC 2047 encoded words (`=?UTF-8?Q?…?=`, `=?UTF-8?B?…?=`), as non-ASCII subjects are sent. */
function decodeHeader (value: string): string {
  return value.replace(/\?=\s+=\?/g, '?==?').replace(/=\?([\w-]+)\?([QB])\?([^?]*)\?=/gi, (_match, _charset: string, encoding: string, text: string) =>
    encoding.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : decodeQuotedPrintable(text.replace(/_/g, ' ')))
}

export function parseMail (raw: string, user: string | undefined): CapturedMail {
  const split = raw.indexOf('\r\n\r\n')
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ')
  const body = raw.slice(split + 4)
  const header = (name: string): string => decodeHeader(new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1].trim() ?? '')
  const encoding = header('Content-Transfer-Encoding').toLowerCase()
  const text = encoding === 'quoted-printable' ? decodeQuotedPrintable(body) : encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body
  return { from: header('From'), to: header('To').split(',').map(address => address.trim()), subject: header('Subject'), text: text.replace(/\r\n/g, '\n').trimEnd(), user, raw }
}

export function linksIn (mail: CapturedMail): string[] {
  return mail.text.match(/https?:\/\/\S+/g) ?? []
}

export async function startSmtpCapture (options: { user?: string, password?: string } = {}): Promise<SmtpCapture> {
  const messages: CapturedMail[] = []
  const waiters = new Set<() => void>()
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: options.user === undefined,
    allowInsecureAuth: true,
    logger: false,
    onAuth (auth, _session, callback) {
      if (auth.username === options.user && auth.password === options.password) callback(null, { user: auth.username })
      else callback(new Error('Invalid username or password'))
    },
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        messages.push(parseMail(Buffer.concat(chunks).toString('utf8'), typeof session.user === 'string' ? session.user : undefined))
        for (const waiter of waiters) waiter()
        callback()
      })
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor (match, timeoutMs = 5000) {
      return await new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = messages.find(match)
          if (found === undefined) return false
          clearTimeout(timer)
          waiters.delete(onMessage)
          resolve(found)
          return true
        }
        const onMessage = (): void => { check() }
        const timer = setTimeout(() => {
          waiters.delete(onMessage)
          reject(new Error(`no matching mail within ${timeoutMs} ms; received: ${JSON.stringify(messages.map(mail => ({ to: mail.to, subject: mail.subject })))}`))
        }, timeoutMs)
        if (!check()) waiters.add(onMessage)
      })
    },
    async close () {
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}
