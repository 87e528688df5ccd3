// A tiny history router for the paths under /portal/ (the partner portal) or /console/
// (the operator console): the same app serves both route trees.
import { useEffect, useState } from 'preact/hooks'

export const BASE = /^\/console(\/|$)/.test(location.pathname) ? '/console' : '/portal'

export function currentPath (): string {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname
  return path === '' ? '/' : path
}

const listeners = new Set<() => void>()

export function navigate (path: string, options: { replace?: boolean } = {}): void {
  const url = BASE + path
  if (options.replace === true) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  for (const listener of listeners) listener()
}

export function usePath (): string {
  const [path, setPath] = useState(currentPath())
  useEffect(() => {
    const update = (): void => { setPath(currentPath()) }
    listeners.add(update)
    addEventListener('popstate', update)
    return () => { listeners.delete(update); removeEventListener('popstate', update) }
  }, [])
  return path
}

/** Matches `/apps/:id` style patterns; returns the parameters or undefined. */
export function match (pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/').filter(Boolean)
  const have = path.split('/').filter(Boolean)
  if (want.length !== have.length) return undefined
  const params: Record<string, string> = {}
  for (let index = 0; index < want.length; index++) {
    if (want[index].startsWith(':')) params[want[index].slice(1)] = decodeURIComponent(have[index])
    else if (want[index] !== have[index]) return undefined
  }
  return params
}
