// Canonical form of a request path, computed before route matching so that no spelling
// of a path (`//`, `/./`, `/../`, `%2e%2e`, …) can leave the route prefix it matched.
//
// Decisions, all answered with undefined (400 BAD_PATH) where rejected:
// - Only escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded; other
//   escapes are kept, with upper-case hex, because decoding a reserved character changes
//   what the upstream sees (`%3B` is data, `;` starts a path parameter for some servers).
//   The result is therefore still a valid request target to forward as it is.
// - Malformed escapes, escapes that are not valid UTF-8, NUL and other control
//   characters, and raw non-ASCII bytes are rejected.
// - `%2F` and `%5C` and a raw `\` are rejected: upstreams disagree on whether they
//   separate segments, which is exactly the ambiguity a traversal needs.
// - A segment that is a dot-segment followed by a path parameter (`..;x`, `.%3B`) is
//   rejected: Tomcat and others strip the parameter and then resolve the dots.
// - Dot-segments are resolved as RFC 3986 §5.2.4 says, never above the root; empty
//   segments are dropped; a trailing slash is kept.

// Paths of plain segments that need no work: each segment starts with a character other
// than a dot and holds only characters allowed raw in a path.
const ALREADY_CANONICAL = /^(?:\/[A-Za-z0-9_~!$&'()*+,;=:@-][A-Za-z0-9._~!$&'()*+,;=:@-]*)*\/?$/

// pchar without pct-encoded (RFC 3986 §3.3)
const ALLOWED_RAW = /[A-Za-z0-9._~!$&'()*+,;=:@-]/
const UNRESERVED = /[A-Za-z0-9._~-]/
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/
const FORBIDDEN_BYTES = new Set([0x2f, 0x5c])

/** The segment with unreserved escapes decoded and others canonical, or undefined if invalid. */
function canonicalSegment (raw: string): string | undefined {
  let result = ''
  let keptEscape = false
  for (let index = 0; index < raw.length; index++) {
    const character = raw[index]
    if (character === '%') {
      const hex = raw.slice(index + 1, index + 3)
      if (!HEX_PAIR.test(hex)) return undefined
      const byte = Number.parseInt(hex, 16)
      if (byte < 0x20 || byte === 0x7f || FORBIDDEN_BYTES.has(byte)) return undefined
      const decoded = String.fromCharCode(byte)
      if (UNRESERVED.test(decoded)) {
        result += decoded
      } else {
        result += `%${hex.toUpperCase()}`
        keptEscape = true
      }
      index += 2
    } else if (ALLOWED_RAW.test(character)) {
      result += character
    } else if (character > ' ' && character < '\x7f' && character !== '\\') {
      // printable but not allowed raw (`|`, `{`, …): encoding it does not change its meaning
      result += `%${character.charCodeAt(0).toString(16).toUpperCase()}`
    } else {
      return undefined
    }
  }
  if (keptEscape) {
    try {
      decodeURIComponent(result)
    } catch {
      return undefined
    }
  }
  return result
}

function isDisguisedDotSegment (segment: string): boolean {
  const parameterStart = segment.search(/;|%3B/)
  if (parameterStart === -1) return false
  const base = segment.slice(0, parameterStart)
  return base === '.' || base === '..'
}

/** The canonical form of a path (without its query), or undefined when it must be refused. */
export function normalizePath (rawPath: string): string | undefined {
  if (!rawPath.startsWith('/')) return undefined
  if (ALREADY_CANONICAL.test(rawPath)) return rawPath

  const rawSegments = rawPath.split('/')
  const output: string[] = []
  let trailingSlash = false
  for (let index = 1; index < rawSegments.length; index++) {
    const segment = canonicalSegment(rawSegments[index])
    if (segment === undefined || isDisguisedDotSegment(segment)) return undefined
    const isLast = index === rawSegments.length - 1
    if (segment === '' || segment === '.') {
      trailingSlash = isLast
    } else if (segment === '..') {
      output.pop()
      trailingSlash = isLast
    } else {
      output.push(segment)
      trailingSlash = false
    }
  }
  if (output.length === 0) return '/'
  return `/${output.join('/')}${trailingSlash ? '/' : ''}`
}
