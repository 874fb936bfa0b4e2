/** Small statistics helpers for the peer benchmark: percentiles, medians and spreads, memory. */
import { readFileSync } from 'node:fs'

/** The q-quantile (0..1) of an ascending array, nearest rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i] as number
}

export interface Latency {
  p50: number
  p95: number
  p99: number
  n: number
}

/** p50/p95/p99 of a sample (any order; it is copied and sorted). */
export function latency(values: ArrayLike<number>): Latency {
  const s = Float64Array.from(values as ArrayLike<number>).sort()
  return { p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99), n: s.length }
}

export function median(values: readonly number[]): number {
  return quantile(Float64Array.from(values).sort(), 0.5)
}

/** [min, max] of the repetitions: how far apart the runs were. */
export function spread(values: readonly number[]): [number, number] {
  return values.length === 0 ? [Number.NaN, Number.NaN] : [Math.min(...values), Math.max(...values)]
}

/** One repetition's figures. */
export interface Rep {
  ops: number
  p50: number
  p95: number
  p99: number
  n: number
}

/** The median of each figure over the repetitions, and its spread. */
export interface Summary {
  ops_per_sec: number
  p50_us: number
  p95_us: number
  p99_us: number
  /** Calls measured, over all repetitions. */
  n: number
  reps: number
  spread: {
    ops_per_sec: [number, number]
    p50_us: [number, number]
    p95_us: [number, number]
    p99_us: [number, number]
  }
}

export function summarize(reps: readonly Rep[]): Summary {
  const pick = (f: (r: Rep) => number) => reps.map(f).filter((x) => Number.isFinite(x))
  return {
    ops_per_sec: round(median(pick((r) => r.ops))),
    p50_us: round(median(pick((r) => r.p50))),
    p95_us: round(median(pick((r) => r.p95))),
    p99_us: round(median(pick((r) => r.p99))),
    n: reps.reduce((s, r) => s + r.n, 0),
    reps: reps.length,
    spread: {
      ops_per_sec: spread(pick((r) => r.ops)).map(round) as [number, number],
      p50_us: spread(pick((r) => r.p50)).map(round) as [number, number],
      p95_us: spread(pick((r) => r.p95)).map(round) as [number, number],
      p99_us: spread(pick((r) => r.p99)).map(round) as [number, number],
    },
  }
}

/** Three significant digits, enough for figures that vary by a few percent between runs. */
export function round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x
  const d = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))))
  const f = 10 ** Math.min(d, 4)
  return Math.round(x * f) / f
}

export function rssMb(): number {
  return round(process.memoryUsage().rss / 1048576)
}

/** Resident memory of another process (Linux /proc), in MB; NaN where /proc is not there. */
export function rssOfPid(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? round(Number(m[1]) / 1024) : Number.NaN
  } catch {
    return Number.NaN
  }
}

/** Cost of one process.hrtime.bigint() pair, subtracted from single-call timings (median of many). */
export function timerOverheadNs(): number {
  const n = 20_000
  const a = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    a[i] = Number(process.hrtime.bigint() - t0)
  }
  return quantile(a.sort(), 0.5)
}
