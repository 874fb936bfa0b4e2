/** Small building blocks shared by the screens: titles that take focus, fields with their errors. */
import {
  type InputHTMLAttributes,
  type ReactNode,
  type Ref,
  type SelectHTMLAttributes,
  useEffect,
  useId,
  useRef,
} from 'react'
import { type Problem, problemOf } from '../api/client'
import { type MessageKey, useI18n } from '../i18n'

/** The screen's heading: names the browser tab and takes focus after navigation (screen readers hear it). */
export function PageTitle({ children, sub }: { children: string; sub?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    document.title = `${children} – Zona`
    ref.current?.focus({ preventScroll: true })
  }, [children])
  return (
    <div className="page-title">
      <h1 ref={ref} tabIndex={-1}>
        {children}
      </h1>
      {sub ? <p className="muted">{sub}</p> : null}
    </div>
  )
}

/** A problem's text in my language when its code has one, else the server's detail. */
export function useProblemText() {
  const { t } = useI18n()
  return (p: Problem) => {
    const key = `error.${p.code}` as MessageKey
    const text = t(key)
    return text === key ? p.detail : p.code === 'VALIDATION_FAILED' ? p.detail : text
  }
}

/** The error of a form that no field claims (or every error, when `fields` is empty). */
export function FormError({ error, fields = [] }: { error: unknown; fields?: string[] }) {
  const text = useProblemText()
  const { t } = useI18n()
  if (!error) return null
  const p = problemOf(error)
  if (p?.field && fields.includes(p.field)) return null
  return (
    <div className="alert error" role="alert">
      <strong>{p ? text(p) : t('app.error')}</strong>
      {p?.explanation && p.explanation !== p.detail ? <p className="explanation">{p.explanation}</p> : null}
    </div>
  )
}

type FieldProps = {
  label: string
  /** The problem field this input answers for, e.g. body.login. */
  name: string
  error?: unknown
  hint?: string
  /** An error found here in the browser, shown like the server's. */
  message?: string | undefined
  ref?: Ref<HTMLInputElement>
} & InputHTMLAttributes<HTMLInputElement>

export function Field({ label, name, error, hint, message: local, id, ref, ...input }: FieldProps) {
  const auto = useId()
  const inputId = id ?? auto
  const p = problemOf(error)
  const message = local ?? (p?.field === name ? p.detail : null)
  const hintId = hint ? `${inputId}-hint` : undefined
  const errorId = message ? `${inputId}-error` : undefined
  return (
    <div className={`field${message ? ' invalid' : ''}`}>
      <label htmlFor={inputId}>{label}</label>
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      <input
        ref={ref}
        id={inputId}
        name={name}
        aria-invalid={message ? true : undefined}
        aria-describedby={[hintId, errorId].filter(Boolean).join(' ') || undefined}
        {...input}
      />
      {message ? (
        <p className="field-error" id={errorId} role="alert">
          {message}
        </p>
      ) : null}
    </div>
  )
}

export function Select({
  label,
  children,
  id,
  ...select
}: { label: string; children: ReactNode } & SelectHTMLAttributes<HTMLSelectElement>) {
  const auto = useId()
  const selectId = id ?? auto
  return (
    <div className="field">
      <label htmlFor={selectId}>{label}</label>
      <select id={selectId} {...select}>
        {children}
      </select>
    </div>
  )
}

export function Loading() {
  const { t } = useI18n()
  return (
    <p className="loading" role="status" aria-live="polite">
      {t('app.loading')}
    </p>
  )
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const text = useProblemText()
  const { t } = useI18n()
  const p = problemOf(error)
  return (
    <div className="alert error" role="alert">
      <strong>{p ? text(p) : t('app.error')}</strong>
      {p?.explanation ? <p className="explanation">{p.explanation}</p> : null}
      {retry ? (
        <button type="button" className="secondary" onClick={retry}>
          {t('app.retry')}
        </button>
      ) : null}
    </div>
  )
}

export function StatusBadge({ status }: { status: string | null | undefined }) {
  const { t } = useI18n()
  if (!status) return null
  const key = `status.${status}` as MessageKey
  const text = t(key)
  return <span className={`badge status-${status}`}>{text === key ? status : text}</span>
}

/** Why something is not offered: the reason in my language by the engine's code, and the engine's own words. */
export function Reason({ code, reason, id }: { code: string; reason: string; id?: string }) {
  const { t } = useI18n()
  const key = `reason.${code}` as MessageKey
  const text = t(key)
  return (
    <span className="reason" id={id}>
      {text === key ? reason : text}{' '}
      <span className="engine-reason" title={reason}>
        ({reason})
      </span>
    </span>
  )
}
