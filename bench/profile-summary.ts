// Summarises a V8 .cpuprofile (from `node --cpu-prof`) as text: the top functions by self
// time and by inclusive time, and self time by where the code comes from (our dist/ modules,
// each package, Node's internals, GC). Time is taken from the sample timestamps, not hit
// counts, so an optional window [from, to] (µs on the profile's clock, CLOCK_MONOTONIC)
// keeps only the samples of a load run.
//   npx tsx bench/profile-summary.ts FILE.cpuprofile [--top 40] [--from µs --to µs]
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

export interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}

export interface ProfileNode {
  id: number
  callFrame: CallFrame
  hitCount?: number
  children?: number[]
}

export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface FunctionTime {
  name: string
  location: string
  selfMicros: number
  totalMicros: number
  /** who called the function when it was sampled in its own code, by self time, largest first */
  callers: Array<{ name: string, location: string, selfMicros: number }>
}

export interface ProfileSummary {
  /** sampled time in the window, µs, idle included */
  sampledMicros: number
  idleMicros: number
  samples: number
  functions: FunctionTime[]
  /** self time by source: a package, a dist/ directory, Node internals, GC… */
  sources: Array<{ source: string, selfMicros: number }>
}

/** Shortens a script URL to the part that names it: dist/gateway/app.js, fastify/lib/route.js, node:http. */
export function shortLocation (frame: CallFrame): string {
  const url = frame.url
  if (url === '') return ''
  const position = `:${frame.lineNumber + 1}:${frame.columnNumber + 1}`
  const inPackage = url.lastIndexOf('/node_modules/')
  if (inPackage !== -1) return url.slice(inPackage + '/node_modules/'.length) + position
  const inDist = url.indexOf('/dist/')
  if (inDist !== -1) return url.slice(inDist + 1) + position
  return url.replace(/^file:\/\//, '') + position
}

export function sourceOf (frame: CallFrame): string {
  const url = frame.url
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native / V8 builtins)'
  const inPackage = url.lastIndexOf('/node_modules/')
  if (inPackage !== -1) {
    const parts = url.slice(inPackage + '/node_modules/'.length).split('/')
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]
  }
  const inDist = url.indexOf('/dist/')
  if (inDist !== -1) return url.slice(inDist + 1).split('/').slice(0, 2).join('/').replace(/\.js$/, '')
  if (url.startsWith('node:')) return 'node internals'
  return url
}

function functionKey (frame: CallFrame): string {
  return `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`
}

/** A window [from, to] of µs on the profile's clock, or several: only the samples within count. */
export type ProfileWindow = { from: number, to: number } | ReadonlyArray<{ from: number, to: number }>

export function summariseProfile (profile: CpuProfile, window?: ProfileWindow): ProfileSummary {
  const windows = window === undefined ? undefined : 'from' in window ? [window] : window
  const nodes = new Map(profile.nodes.map(node => [node.id, node]))
  const parents = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
  // the distinct functions on each node's stack, so that recursion counts once per sample
  const stackKeys = new Map<number, string[]>()
  const keysOnStack = (id: number): string[] => {
    const known = stackKeys.get(id)
    if (known !== undefined) return known
    const parent = parents.get(id)
    const inherited = parent === undefined ? [] : keysOnStack(parent)
    const own = functionKey((nodes.get(id) as ProfileNode).callFrame)
    const keys = inherited.includes(own) ? inherited : [...inherited, own]
    stackKeys.set(id, keys)
    return keys
  }
  const frames = new Map<string, CallFrame>()
  for (const node of profile.nodes) frames.set(functionKey(node.callFrame), node.callFrame)

  const self = new Map<string, number>()
  const total = new Map<string, number>()
  const callers = new Map<string, Map<string, number>>()
  const bySource = new Map<string, number>()
  let sampledMicros = 0
  let idleMicros = 0
  let samples = 0
  let timestamp = profile.startTime
  const timestamps = profile.timeDeltas.map(delta => (timestamp += delta))
  for (let index = 0; index < profile.samples.length; index++) {
    const at = timestamps[index]
    if (windows !== undefined && !windows.some(({ from, to }) => at >= from && at <= to)) continue
    // a sample stands for the time until the next one (as Chrome DevTools counts it)
    const duration = index + 1 < timestamps.length ? timestamps[index + 1] - at : 0
    const node = nodes.get(profile.samples[index]) as ProfileNode
    samples++
    sampledMicros += duration
    if (node.callFrame.functionName === '(idle)') idleMicros += duration
    const key = functionKey(node.callFrame)
    self.set(key, (self.get(key) ?? 0) + duration)
    const parent = parents.get(node.id)
    if (parent !== undefined) {
      const byCaller = callers.get(key) ?? new Map<string, number>()
      const callerKey = functionKey((nodes.get(parent) as ProfileNode).callFrame)
      byCaller.set(callerKey, (byCaller.get(callerKey) ?? 0) + duration)
      callers.set(key, byCaller)
    }
    const source = sourceOf(node.callFrame)
    bySource.set(source, (bySource.get(source) ?? 0) + duration)
    for (const onStack of keysOnStack(node.id)) total.set(onStack, (total.get(onStack) ?? 0) + duration)
  }
  const describe = (frame: CallFrame): { name: string, location: string } => ({ name: frame.functionName === '' ? '(anonymous)' : frame.functionName, location: shortLocation(frame) })
  const functions = [...frames.entries()]
    .filter(([key]) => total.has(key))
    .map(([key, frame]) => ({
      ...describe(frame),
      selfMicros: self.get(key) ?? 0,
      totalMicros: total.get(key) ?? 0,
      callers: [...(callers.get(key) ?? new Map<string, number>()).entries()]
        .map(([callerKey, selfMicros]) => ({ ...describe(frames.get(callerKey) as CallFrame), selfMicros }))
        .sort((a, b) => b.selfMicros - a.selfMicros)
    }))
  const sources = [...bySource.entries()].map(([source, selfMicros]) => ({ source, selfMicros })).sort((a, b) => b.selfMicros - a.selfMicros)
  return { sampledMicros, idleMicros, samples, functions, sources }
}

function percent (part: number, whole: number): string {
  return `${(whole === 0 ? 0 : part * 100 / whole).toFixed(1)}%`.padStart(6)
}

function milliseconds (micros: number): string {
  return (micros / 1000).toFixed(1).padStart(9)
}

/** The summary as text tables; percentages are of the busy (non-idle) time. */
export function formatSummary (summary: ProfileSummary, top = 40): string {
  const busy = summary.sampledMicros - summary.idleMicros
  const named = (entry: { name: string, location: string }): string => `${entry.name}${entry.location !== '' ? `  (${entry.location})` : ''}`
  const bySelf = summary.functions.filter(function_ => function_.name !== '(root)' && function_.name !== '(idle)').sort((a, b) => b.selfMicros - a.selfMicros)
  const callerLines = bySelf.slice(0, 10).filter(function_ => function_.callers.length > 0).flatMap(function_ => [
    named(function_),
    ...function_.callers.slice(0, 3).map(caller => `  ${milliseconds(caller.selfMicros)} ${percent(caller.selfMicros, function_.selfMicros)}  from ${named(caller)}`)
  ])
  const ranked = (order: (function_: FunctionTime) => number): string[] => {
    const lines = [`${'#'.padStart(3)} ${'self ms'.padStart(9)} ${'self'.padStart(6)} ${'total ms'.padStart(9)} ${'total'.padStart(6)}  function  (location)`]
    const sorted = [...bySelf].sort((a, b) => order(b) - order(a)).slice(0, top)
    for (const [index, function_] of sorted.entries()) {
      lines.push(`${String(index + 1).padStart(3)} ${milliseconds(function_.selfMicros)} ${percent(function_.selfMicros, busy)} ${milliseconds(function_.totalMicros)} ${percent(function_.totalMicros, busy)}  ${named(function_)}`)
    }
    return lines
  }
  return [
    `samples: ${summary.samples}, sampled ${(summary.sampledMicros / 1000).toFixed(1)} ms, idle ${(summary.idleMicros / 1000).toFixed(1)} ms, busy ${(busy / 1000).toFixed(1)} ms (percentages below are of busy time)`,
    '',
    `Top ${top} functions by self time`,
    ...ranked(function_ => function_.selfMicros),
    '',
    `Top ${top} functions by inclusive time (self + callees; recursion counted once)`,
    ...ranked(function_ => function_.totalMicros),
    '',
    'Callers of the top 10 by self time (share of that function\'s self time)',
    ...callerLines,
    '',
    `The gateway's own functions (dist/) by self time`,
    ...bySelf.filter(function_ => function_.location.startsWith('dist/')).slice(0, 30).map(function_ => `${milliseconds(function_.selfMicros)} ${percent(function_.selfMicros, busy)} ${milliseconds(function_.totalMicros)} ${percent(function_.totalMicros, busy)}  ${named(function_)}`),
    '',
    'Self time by source',
    ...summary.sources.filter(source => source.source !== '(idle)').map(source => `${milliseconds(source.selfMicros)} ${percent(source.selfMicros, busy)}  ${source.source}`)
  ].join('\n')
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() as string)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' }, from: { type: 'string' }, to: { type: 'string' } } })
  if (positionals[0] === undefined) throw new Error('usage: profile-summary FILE.cpuprofile [--top N] [--from µs --to µs]')
  const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as CpuProfile
  const window = values.from !== undefined && values.to !== undefined ? { from: Number(values.from), to: Number(values.to) } : undefined
  console.log(formatSummary(summariseProfile(profile, window), Number(values.top)))
}
