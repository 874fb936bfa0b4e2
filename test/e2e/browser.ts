/**
 * The browser suite's harness: Debian Chromium through playwright-core, and a real Zona server
 * (PGlite in memory, a mail catcher, the demo customer of a preset) listening on a free port.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { type Browser, chromium, type Page } from 'playwright-core'
import { readConfig } from '../../src/config.ts'
import { DEMO_PASSWORD } from '../../src/demo/presets.ts'
import { type DemoLogin, seedDemo } from '../../src/demo/seed.ts'
import { type MailCatcher, startMailCatcher } from '../../src/mail/catcher.ts'
import { type Running, startZona } from '../../src/server/start.ts'

/** Every language of the web app, in the order the screenshot index lists them. */
export const LANGUAGES = ['cs', 'sk', 'pt', 'it', 'en'] as const

/** What the callbacks run in the page use of it (the suites compile without the DOM library). */
interface InPage {
  localStorage: { setItem(key: string, value: string): void }
}

export const CHROMIUM = process.env.ZONA_CHROMIUM ?? '/usr/bin/chromium'
export const SCREENSHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}. The browser suite needs Debian's Chromium: run ` +
        '`apt-get update && apt-get install -y chromium` as root (or set ZONA_CHROMIUM to a Chromium binary). ' +
        'Do not use `npx playwright install`.',
    )
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

export interface Portal {
  running: Running
  catcher: MailCatcher
  url: string
  /** The demo's people: login, name, role. */
  logins: DemoLogin[]
  close(): Promise<void>
}

/** A real server for a preset with its demo customer, on 127.0.0.1 and a free port. */
export async function startPortal(preset: string): Promise<Portal> {
  const read = readConfig({
    ZONA_PRESET: preset,
    PORT: '0',
    HOST: '127.0.0.1',
    ZONA_DATA_DIR: 'memory://',
    ZONA_LOG_LEVEL: 'silent',
  })
  if (!read.ok) throw new Error(read.errors.join('\n'))
  const catcher = await startMailCatcher({ port: 0 })
  const running = await startZona(read.config, { logger: false, mailCatcher: catcher })
  const logins = await seedDemo(running.zona)
  return {
    logins,
    running,
    catcher,
    url: running.url,
    async close() {
      await running.close()
      await catcher.close()
    },
  }
}

export interface PageOptions {
  /** The language the app starts in on every load (as if chosen in its switcher before). */
  lang?: string
  /** A phone's viewport and touch instead of a desktop window. */
  phone?: boolean
}

/** A page in a browser context of its own (own cookies and storage) on `baseURL`; closed with the browser. */
export async function openPage(browser: Browser, baseURL: string, options: PageOptions = {}): Promise<Page> {
  const context = await browser.newContext({
    baseURL,
    viewport: options.phone ? { width: 390, height: 844 } : { width: 1280, height: 860 },
    ...(options.phone ? { isMobile: true, hasTouch: true, deviceScaleFactor: 1 } : {}),
  })
  if (options.lang)
    await context.addInitScript(
      (l) => (globalThis as unknown as InPage).localStorage.setItem('zona.lang', l),
      options.lang,
    )
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  return page
}

/** Switches an open page's language the way the app remembers it; takes effect on the next load. */
export async function chooseLanguage(page: Page, lang: string): Promise<void> {
  await page.evaluate((l) => (globalThis as unknown as InPage).localStorage.setItem('zona.lang', l), lang)
}

/** Fills and sends the portal's sign-in form (it does not wait for what comes next). */
export async function fillSignIn(page: Page, login: string, password = DEMO_PASSWORD): Promise<void> {
  await page.goto('/')
  await page.locator('input[name="body.login"]').fill(login)
  await page.locator('input[name="body.password"]').fill(password)
  await page.locator('form button[type=submit]').click()
}

export const heading = (page: Page) => page.locator('h1')

/** docs/screenshots/<lang>-<screen>.png, after the page has settled. */
export async function shoot(page: Page, lang: string, screen: string, fullPage = false) {
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.waitForLoadState('networkidle')
  await page
    .locator('[role=status]:has-text("…")')
    .first()
    .waitFor({ state: 'detached', timeout: 5000 })
    .catch(() => {})
  await page.screenshot({ path: `${SCREENSHOTS}${lang}-${screen}.png`, fullPage, animations: 'disabled' })
}

/** docs/screenshots/README.md: every screenshot, by screen and language, for the README to link. */
export function writeScreenshotIndex(languages: readonly string[]) {
  const files = readdirSync(SCREENSHOTS).filter((f) => f.endsWith('.png'))
  const screens = [...new Set(files.map((f) => f.replace(/^[a-z]{2}-/, '').replace(/\.png$/, '')))].sort()
  const lines = [
    '# Screenshots',
    '',
    'Written by `npm run test:e2e` in Debian Chromium: the o2-cz demo customer (test/e2e/portal.test.ts),',
    'the account-request wizard on sk-isp and the contacts on ovh (test/e2e/journeys.test.ts), and the other',
    'screens by their own suites; every screen in every language. Regenerated on each run.',
    // back office (issue 5): its screens come from back-office.test.ts, on sk-isp for its request queue
    'The `operator-*` screens (the back office at /operator) are written by test/e2e/back-office.test.ts on the sk-isp demo.',
    'The access review, registered people, second factor set-up and ordering screens are written by test/e2e/admin-screens.test.ts.',
    '',
    `| screen | ${languages.join(' | ')} |`,
    `| --- | ${languages.map(() => '---').join(' | ')} |`,
    ...screens.map(
      (s) =>
        `| ${s} | ${languages.map((l) => (files.includes(`${l}-${s}.png`) ? `[${l}](${l}-${s}.png)` : '–')).join(' | ')} |`,
    ),
    '',
  ]
  writeFileSync(`${SCREENSHOTS}README.md`, lines.join('\n'))
}
