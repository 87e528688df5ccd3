// The partner API client: JSON over fetch with the session cookie, and the CSRF token from
// /me or the log-in response on every state-changing request.
import type { IpRestrictionConfig } from './ip-restriction.js'

export interface ApiErrorBody { error: { code: string, message: string } }

export class ApiError extends Error {
  constructor (readonly status: number, readonly code: string, message: string, readonly retryAfter?: number) {
    super(message)
  }
}

export interface JsonClient {
  call: <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>
  setCsrfToken: (token: string | undefined) => void
}

/**
 * JSON over fetch under `basePath` with the session cookie, and the session's CSRF token (taken
 * from any answer that carries one) on every state-changing request. The portal and the console
 * each have one, each with its own session.
 */
export function createJsonClient (basePath: string, unreachableMessage: string): JsonClient {
  let csrfToken: string | undefined
  return {
    setCsrfToken (token) {
      csrfToken = token
    },
    async call<T = unknown> (method: string, path: string, body?: unknown): Promise<T> {
      const headers: Record<string, string> = { accept: 'application/json' }
      if (body !== undefined) headers['content-type'] = 'application/json'
      if (method !== 'GET' && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken
      let response: Response
      try {
        response = await fetch(`${basePath}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' })
      } catch {
        throw new ApiError(0, 'NETWORK', unreachableMessage)
      }
      const text = await response.text()
      const parsed = text === '' ? undefined : JSON.parse(text) as unknown
      if (!response.ok) {
        const error = (parsed as ApiErrorBody | undefined)?.error
        const retryAfter = Number(response.headers.get('retry-after') ?? '') || undefined
        throw new ApiError(response.status, error?.code ?? 'HTTP_' + String(response.status), error?.message ?? `Request failed (${response.status})`, retryAfter)
      }
      const token = (parsed as { csrfToken?: string } | undefined)?.csrfToken
      if (token !== undefined) csrfToken = token
      return parsed as T
    }
  }
}

const partnerClient = createJsonClient('/partner/v1', 'The server cannot be reached. Check your connection and try again.')
export const api = partnerClient.call
export const setCsrfToken = partnerClient.setCsrfToken

export type PartnerRole = 'admin' | 'developer'

export interface Me {
  user: { id: string, email: string, name: string | null, role: PartnerRole, emailVerified: boolean }
  partner: { id: string, name: string, status: 'active' | 'pending' | 'suspended' }
  csrfToken: string
  expiresAt: string
  gatewayUrl: string
}

export interface Credential {
  id: string
  key: string
  apiKeyPrefix: string
  status: 'active' | 'expiring' | 'revoked' | 'expired'
  createdAt: string
  expiresAt: string | null
  revokedAt: string | null
}

export interface App { id: string, name: string, status: 'active' | 'suspended', ipRestriction: IpRestrictionConfig | null, createdAt: string, updatedAt: string }
export interface AppDetail extends App { credentials: Credential[] }
export interface NewSecret { key: string, secret: string, apiKey: string }
export interface CreatedApp extends App, NewSecret { credentialId: string }
export interface Rotated extends NewSecret { id: string, createdAt: string, previous: Credential[] }

export interface Plan { id: string, name: string, rateLimitPerSecond: number | null, rateLimitBurst: number | null, quotaPerDay: number | null, quotaPerMonth: number | null }
export interface CatalogApi {
  id: string
  name: string
  description: string
  auth: string[]
  autoApprove: boolean
  hasReference: boolean
  routes: Array<{ path: string, methods: string[] }>
  tags: string[]
  plans: Plan[]
  /** with a search: the operations that match it */
  matches?: Array<{ method: string, path: string, summary: string }>
}
export interface CatalogApiDetail extends CatalogApi { openapi: Record<string, unknown> | null }

export interface AccessRequest {
  id: string
  appId: string
  appName: string
  apiId: string
  apiName: string
  planId: string
  planName: string
  status: 'requested' | 'approved' | 'rejected' | 'revoked'
  createdAt: string
  updatedAt: string
}

export interface Count { calls: number, rejected: number }
export interface ApiUsage {
  apiId: string
  apiName: string
  grantStatus: string | null
  plan: { id: string, name: string, quotaPerDay: number | null, quotaPerMonth: number | null, rateLimitPerSecond: number | null } | null
  today: Count
  month: Count
  total: Count
  series: Array<{ day: string, calls: number, rejected: number }>
}
export interface Usage { appId: string, from: string, to: string, days: string[], apis: ApiUsage[] }

export interface Member { id: string, email: string, name: string | null, role: PartnerRole, emailVerified: boolean, createdAt: string, lastLoginAt: string | null }
export interface Invitation { id: string, email: string, role: PartnerRole, createdAt: string, expiresAt: string, expired: boolean }
export interface Team { members: Member[], invitations: Invitation[] }
/** sent by SMTP; logged: no mail server is configured and the link is in the server log; failed: see the server log */
export type Delivery = 'sent' | 'logged' | 'failed'
export interface SentInvitation extends Invitation { delivery: Delivery }
export interface InvitationInfo { email: string, role: PartnerRole, partnerName: string, expiresAt: string }
