/**
 * Back office: import a customer's account/service tree from a JSON or CSV file. The server
 * answers with a job at once; its progress is polled until done or failed, and a refused import
 * lists every bad row by where it is (`body.services[17].parent`, `csv line 18: parent`).
 */
import { useQuery, useQueryClient } from '@tanstack/react-query'
import { type FormEvent, useEffect, useState } from 'react'
import { call } from '../../api/client'
import { FormError, PageTitle } from '../../components/ui'
import { useI18n } from '../../i18n'
import { enc, Link } from '../../router'
import { type ImportJob, opApi } from './api'

const POLL_MS = 400

/** The content type the import route takes for a file, by its name first (browsers vary on CSV). */
function contentTypeOf(file: File): 'application/json' | 'text/csv' | null {
  const name = file.name.toLowerCase()
  if (name.endsWith('.json')) return 'application/json'
  if (name.endsWith('.csv')) return 'text/csv'
  if (file.type === 'application/json') return 'application/json'
  if (file.type === 'text/csv' || file.type === 'application/vnd.ms-excel') return 'text/csv'
  return null
}

export function ImportScreen({ customer }: { customer: string }) {
  const { t } = useI18n()
  const queryClient = useQueryClient()
  const [file, setFile] = useState<File | null>(null)
  const [message, setMessage] = useState<string | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [jobId, setJobId] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const job = useQuery({
    queryKey: ['operator', 'import', jobId],
    enabled: jobId !== null,
    queryFn: () =>
      call(() =>
        opApi.GET('/api/v1/operator/imports/{job_id}', { params: { path: { job_id: jobId as string } } }),
      ),
    refetchInterval: (q) => {
      const state = q.state.data?.state
      return state === 'done' || state === 'failed' ? false : POLL_MS
    },
  })
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setError(null)
    setMessage(null)
    if (!file) {
      setMessage(t('operator.import.noFile'))
      return
    }
    const type = contentTypeOf(file)
    if (!type) {
      setMessage(t('operator.import.wrongType'))
      return
    }
    setBusy(true)
    setJobId(null)
    try {
      const text = await file.text()
      const started = await call(() =>
        opApi.POST('/api/v1/operator/customers/{id}/import', {
          params: { path: { id: customer } },
          headers: { 'content-type': type },
          // The file goes as it is: the server parses it, to report lines and paths in it.
          body: text as never,
          bodySerializer: (b: unknown) => b as string,
        }),
      )
      // 202 (the job to poll) is what the form asks for; a 200 would be a finished job.
      const id = (started as { job_id: string }).job_id
      setJobId(id)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  const data = job.data
  const finished = data?.state === 'done' || data?.state === 'failed'
  useEffect(() => {
    // The customer's counts changed with the import.
    if (data?.state === 'done')
      void queryClient.invalidateQueries({ queryKey: ['operator', 'customer', customer] })
  }, [data?.state, customer, queryClient])
  return (
    <>
      <p className="crumbs">
        <Link to="/operator">{t('operator.nav.customers')}</Link> ›{' '}
        <Link to={`/operator/customers/${enc(customer)}`}>{customer}</Link>
      </p>
      <PageTitle sub={t('operator.import.intro')}>{t('operator.import.title')}</PageTitle>
      <section className="card" aria-labelledby="op-formats-h">
        <h2 id="op-formats-h">{t('operator.import.formats')}</h2>
        <ul>
          <li>{t('operator.import.formatJson')}</li>
          <li>{t('operator.import.formatNested')}</li>
          <li>{t('operator.import.formatCsv')}</li>
        </ul>
        <figure className="op-sample">
          <figcaption className="small muted">{t('operator.import.sampleCsv')}</figcaption>
          <pre>
            {'kind,id,parent,name,service_type,tariff,status,contract_number,contact_email\n' +
              'account,acc-1,,Head office,,,,,\n' +
              'service,line-1,acc-1,+421 900 000 001,mobile,Business M,active,C-1001,\n'}
          </pre>
        </figure>
        <p className="hint">{t('operator.import.allOrNothing')}</p>
      </section>
      <form className="card import-form" onSubmit={submit} noValidate>
        <FormError error={error} />
        <div className={`field${message ? ' invalid' : ''}`}>
          <label htmlFor="op-import-file">{t('operator.import.file')}</label>
          <input
            id="op-import-file"
            name="file"
            type="file"
            accept=".json,.csv,application/json,text/csv"
            aria-invalid={message ? true : undefined}
            aria-describedby={message ? 'op-import-file-error' : undefined}
            onChange={(e) => {
              setFile(e.target.files?.[0] ?? null)
              setMessage(null)
            }}
          />
          {message ? (
            <p className="field-error" id="op-import-file-error" role="alert">
              {message}
            </p>
          ) : null}
        </div>
        <div className="actions">
          <button type="submit" disabled={busy || (jobId !== null && !finished)}>
            {t('operator.import.submit')}
          </button>
        </div>
      </form>
      {job.isError ? <FormError error={job.error} /> : null}
      {data ? <JobProgress job={data} customer={customer} /> : null}
    </>
  )
}

function JobProgress({ job, customer }: { job: ImportJob; customer: string }) {
  const { t, number } = useI18n()
  // While validating the total is not known yet: an indeterminate bar.
  const known = job.total > 0
  const percent = job.state === 'done' ? 100 : known ? Math.floor((job.processed / job.total) * 100) : 0
  return (
    <section className="card import-job" aria-labelledby="op-job-h">
      <h2 id="op-job-h">{t('operator.import.job')}</h2>
      <p className="import-state" role="status" aria-live="polite">
        {t(`operator.import.state.${job.state}`)}
        {known && job.state !== 'failed' ? ` – ${number(job.processed)} / ${number(job.total)}` : ''}
      </p>
      {job.state === 'failed' ? null : (
        <progress
          className="import-progress"
          aria-label={t('operator.import.progress')}
          max={100}
          {...(known || job.state === 'done' ? { value: percent } : {})}
        >
          {percent} %
        </progress>
      )}
      {job.state === 'done' ? (
        <div className="alert success">
          {t('operator.import.done', { accounts: number(job.accounts), services: number(job.services) })}{' '}
          <Link to={`/operator/customers/${enc(customer)}`}>{t('operator.import.back')}</Link>
        </div>
      ) : null}
      {job.state === 'failed' ? (
        <div className="alert error" role="alert">
          <strong>
            {t('operator.import.failed', { count: job.error_count ?? job.errors?.length ?? 0 })}
          </strong>
          {job.errors?.length ? (
            <div className="table-wrap">
              <table className="import-problems">
                <caption className="visually-hidden">{t('operator.import.problems')}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t('operator.import.where')}</th>
                    <th scope="col">{t('operator.import.what')}</th>
                  </tr>
                </thead>
                <tbody>
                  {job.errors.map((p, i) => (
                    // Several problems may name one field, so the index keeps rows apart.
                    // biome-ignore lint/suspicious/noArrayIndexKey: the list never reorders
                    <tr key={i}>
                      <th scope="row">
                        <code>{p.field}</code>
                      </th>
                      <td>{p.detail}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          {job.error_count && job.errors && job.error_count > job.errors.length ? (
            <p>{t('operator.import.more', { count: job.error_count - job.errors.length })}</p>
          ) : null}
        </div>
      ) : null}
    </section>
  )
}
