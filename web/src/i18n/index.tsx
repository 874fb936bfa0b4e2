/**
 * Five languages (Czech, Slovak, Portuguese, Italian, English), one typed dictionary each: a key
 * missing from one language, or one too many, is a type error. The default is the preset's
 * language; a person's choice is remembered in this browser. Role names come from the catalog.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react'
import { cs } from './cs'
import { en, type MessageKey, type Messages } from './en'
import { it } from './it'
import { pt } from './pt'
import { sk } from './sk'

export const LANGUAGES = ['cs', 'sk', 'pt', 'it', 'en'] as const
export type Language = (typeof LANGUAGES)[number]
export const DICTIONARIES: Record<Language, Messages> = { cs, sk, pt, it, en }
/** Each language named in itself, for the switcher. */
export const LANGUAGE_NAMES: Record<Language, string> = {
  cs: 'Čeština',
  sk: 'Slovenčina',
  pt: 'Português',
  it: 'Italiano',
  en: 'English',
}
const LOCALES: Record<Language, string> = { cs: 'cs-CZ', sk: 'sk-SK', pt: 'pt-PT', it: 'it-IT', en: 'en-GB' }
const STORAGE_KEY = 'zona.lang'

export const isLanguage = (x: unknown): x is Language => LANGUAGES.includes(x as Language)

export type Texts = Record<string, string>
export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string

export interface I18n {
  lang: Language
  setLang(lang: Language): void
  t: Translate
  /** Text from the catalog in my language, else the catalog's own, else English. */
  pick(texts: Texts | null | undefined): string
  date(iso: string | null | undefined): string
  dateTime(iso: string | null | undefined): string
  money(cents: number, currency: string): string
  number(n: number): string
}

const I18nContext = createContext<I18n | null>(null)

export function storedLanguage(): Language | null {
  try {
    const v = localStorage.getItem(STORAGE_KEY)
    return isLanguage(v) ? v : null
  } catch {
    return null
  }
}

export function I18nProvider({
  defaultLanguage,
  catalogLanguage,
  children,
}: {
  defaultLanguage: Language
  catalogLanguage: string
  children: ReactNode
}) {
  const [chosen, setChosen] = useState<Language | null>(storedLanguage)
  const lang = chosen ?? defaultLanguage
  useEffect(() => {
    document.documentElement.lang = lang
  }, [lang])
  const setLang = useCallback((l: Language) => {
    try {
      localStorage.setItem(STORAGE_KEY, l)
    } catch {
      // private mode: the choice lasts for this page only
    }
    setChosen(l)
  }, [])
  const value = useMemo<I18n>(() => {
    const dict = DICTIONARIES[lang]
    const locale = LOCALES[lang]
    const dateFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' })
    const dateTimeFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' })
    const numberFmt = new Intl.NumberFormat(locale)
    return {
      lang,
      setLang,
      t: (key, vars) => {
        const text = dict[key] ?? en[key] ?? key
        return vars ? text.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m)) : text
      },
      pick: (texts) => (texts ? (texts[lang] ?? texts[catalogLanguage] ?? texts.en ?? '') : ''),
      date: (iso) => (iso ? dateFmt.format(new Date(iso)) : '–'),
      dateTime: (iso) => (iso ? dateTimeFmt.format(new Date(iso)) : '–'),
      money: (cents, currency) =>
        new Intl.NumberFormat(locale, { style: 'currency', currency }).format(cents / 100),
      number: (n) => numberFmt.format(n),
    }
  }, [lang, setLang, catalogLanguage])
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>
}

export function useI18n(): I18n {
  const v = useContext(I18nContext)
  if (!v) throw new Error('useI18n outside I18nProvider')
  return v
}

export type { MessageKey, Messages }
