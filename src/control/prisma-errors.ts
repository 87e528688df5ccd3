// Maps Prisma's known request errors to the catalogue, so a duplicate name or a dangling
// reference is a clear 4xx instead of a 500.
import { ConflictError, NotFoundError } from '../domain/errors.js'

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

export function mapPrismaError (error: unknown): Error | undefined {
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
