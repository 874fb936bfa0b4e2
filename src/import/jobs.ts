/**
 * Import jobs: an import runs in the background and reports its state and progress.
 *
 * Kept in the memory of the process that runs them (the limit: another instance behind the
 * same load balancer does not know the job, and a restart forgets it; the import itself is
 * one transaction, so a lost job never leaves half a tree). Finished jobs are kept for an
 * hour, and at most MAX_JOBS of them.
 */
import { randomUUID } from 'node:crypto'
import type { RowProblem } from './read.ts'

/** validating → writing → done, or failed from either; done and failed are final. */
export type ImportJobState = 'validating' | 'writing' | 'done' | 'failed'

export interface ImportProgress {
  state: ImportJobState
  processed: number
  total: number
}

export interface ImportJob extends ImportProgress {
  id: string
  customerId: string
  startedAt: Date
  finishedAt: Date | null
  /** Set when failed: every row problem (up to a cap), or one problem about the whole import. */
  errors: RowProblem[] | null
  /** How many problems there were in all (errors may be capped). */
  errorCount: number
  /** The error code when failed: VALIDATION_FAILED, NOT_FOUND, CONFLICT, INTERNAL. */
  errorCode: string | null
  accounts: number
  services: number
}

export function isFinal(state: ImportJobState): boolean {
  return state === 'done' || state === 'failed'
}

const MAX_JOBS = 200
const KEEP_MS = 60 * 60 * 1000

export class ImportJobs {
  private readonly jobs = new Map<string, ImportJob>()

  constructor(private readonly clock: () => Date = () => new Date()) {}

  create(customerId: string): ImportJob {
    this.prune()
    const job: ImportJob = {
      id: randomUUID(),
      customerId,
      state: 'validating',
      processed: 0,
      total: 0,
      startedAt: this.clock(),
      finishedAt: null,
      errors: null,
      errorCount: 0,
      errorCode: null,
      accounts: 0,
      services: 0,
    }
    this.jobs.set(job.id, job)
    return job
  }

  get(id: string): ImportJob | undefined {
    return this.jobs.get(id)
  }

  /** Moves a job on; a final state is never left. */
  update(job: ImportJob, change: Partial<Omit<ImportJob, 'id' | 'customerId' | 'startedAt'>>): void {
    if (isFinal(job.state)) return
    Object.assign(job, change)
    if (isFinal(job.state)) job.finishedAt = this.clock()
  }

  private prune(): void {
    const now = this.clock().getTime()
    for (const [id, job] of this.jobs)
      if (job.finishedAt && now - job.finishedAt.getTime() > KEEP_MS) this.jobs.delete(id)
    // Map iteration is insertion order: the oldest go first.
    for (const [id, job] of this.jobs) {
      if (this.jobs.size < MAX_JOBS) break
      if (job.finishedAt) this.jobs.delete(id)
    }
  }
}
