// Maps Prisma's known request errors to the catalogue, so a duplicate name or a dangling
// reference is a clear 4xx instead of a 500.
import { ConflictError, DatabaseUnavailableError, NotFoundError } from '../domain/errors.js'

interface PrismaKnownError { code: string, meta?: { target?: unknown, modelName?: string, field_name?: unknown, cause?: string } }

function isPrismaKnownError (error: unknown): error is PrismaKnownError {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' &&
    /^P\d{4}$/.test((error as { code: string }).code)
}

interface DriverAdapterError { name: 'DriverAdapterError', cause?: { kind?: string, code?: string, detail?: string, constraint?: unknown } }

function isDriverAdapterError (error: unknown): error is DriverAdapterError {
  return error instanceof Error && error.name === 'DriverAdapterError'
}

/** The embedded database's adapter reports raw PostgreSQL errors instead of Prisma codes. */
function mapDriverAdapterError (error: DriverAdapterError): Error | undefined {
  const cause = error.cause
  if (cause?.kind === 'UniqueConstraintViolation' || cause?.code === '23505') {
    const field = /Key \((.+?)\)=/.exec(cause?.detail ?? '')?.[1]
    return new ConflictError(`A record with the same ${field ?? 'unique field'} already exists`)
  }
  if (cause?.kind === 'ForeignKeyConstraintViolation' || cause?.code === '23503') {
    return new ConflictError('The record is still referenced by other records, or refers to a record that does not exist')
  }
  return undefined
}

// Prisma: cannot reach, timed out, operations timed out, connection closed, pool timeout
const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024'])
// driver adapters' classification of connection failures
const UNAVAILABLE_ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections'])
// node-postgres and the socket: refused, reset, timed out; PostgreSQL: query canceled by statement_timeout, shutting down
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', '57014', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001'])
const UNAVAILABLE_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|Query read timeout|Client has encountered a connection error|connection timeout|Can't reach database server/i

/** Whether the error means the database could not be reached or did not answer in time (not that the request was wrong). */
export function isDatabaseUnavailable (error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const { code, kind, message } = current as { code?: unknown, kind?: unknown, message?: unknown }
    if (typeof code === 'string' && (UNAVAILABLE_PRISMA_CODES.has(code) || UNAVAILABLE_CODES.has(code))) return true
    if (typeof kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(kind)) return true
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true
    const { originalCode } = current as { originalCode?: unknown }
    if (typeof originalCode === 'string' && UNAVAILABLE_CODES.has(originalCode)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

export function mapPrismaError (error: unknown): Error | undefined {
  if (isDatabaseUnavailable(error)) return new DatabaseUnavailableError()
  if (isDriverAdapterError(error)) return mapDriverAdapterError(error)
  if (!isPrismaKnownError(error)) return undefined
  switch (error.code) {
    case 'P2002': {
      const target = Array.isArray(error.meta?.target) ? error.meta?.target.join(', ') : String(error.meta?.target ?? 'a unique field')
      return new ConflictError(`A record with the same ${target} already exists`)
    }
    case 'P2003': return new ConflictError('The record is still referenced by other records, or refers to a record that does not exist')
    case 'P2025': return new NotFoundError(error.meta?.cause ?? 'The record does not exist')
    default: return undefined
  }
}
