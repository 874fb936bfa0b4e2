/**
 * The operator back office (/operator) in Chromium against a real server on PGlite with the
 * sk-isp demo customer (the preset with the account-request queue): sign-in with an operator API
 * key kept in sessionStorage only, a new customer, a tree import watched to the end, the primary
 * account appointed, the audit events of it all found and exported, account requests approved and
 * refused, and screenshots of every back-office screen in every language.
 */
import { readFileSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey, revokeApiKey } from '../../src/commands/operator/api-keys.ts'
import { demoOperatorKey } from '../../src/demo/operator-key.ts'
import {
  heading,
  LANGUAGES,
  launchBrowser,
  openPage,
  type PageOptions,
  type Portal,
  shoot,
  startPortal,
  writeScreenshotIndex,
} from './browser.ts'

/** What the callbacks run in the page use of it (the suite compiles without the DOM library). */
interface InPage {
  localStorage: {
    setItem(key: string, value: string): void
    getItem(key: string): string | null
    length: number
    key(i: number): string | null
  }
  sessionStorage: { getItem(key: string): string | null }
  document: { activeElement: { getAttribute(name: string): string | null } | null }
}

const CUSTOMER = 'acme-stavby'
const DEMO_CUSTOMER = 'tatra-logistika'

/** A tree in the CSV form the import takes: two accounts, three services. */
const GOOD_CSV = [
  'kind,id,parent,name,service_type,tariff,status,contract_number,contact_email',
  'account,acme-hq,,Head office,,,,ACME-1000,office@acme.test',
  'account,acme-east,acme-hq,East branch,,,,ACME-2000,east@acme.test',
  'service,acme-line-1,acme-hq,+421 900 000 001,mobile,Business M,active,ACME-1001,',
  'service,acme-line-2,acme-east,+421 900 000 002,mobile,Business S,active,ACME-2001,',
  'service,acme-net-1,acme-east,Fibre 1000,internet,Fiber 1000,active,ACME-2002,',
  '',
].join('\n')

/** More of the tree in the flat JSON form: an account under the head office, a line in it. */
const MORE_JSON = JSON.stringify({
  accounts: [{ id: 'acme-west', name: 'West branch', parent: 'acme-hq' }],
  services: [
    {
      id: 'acme-line-3',
      parent: 'acme-west',
      name: '+421 900 000 003',
      service_type: 'mobile',
      tariff: 'Business M',
      status: 'active',
    },
  ],
})

/** The same with two bad rows: an unknown parent on line 3 and a bad status on line 4. */
const BAD_CSV = [
  'kind,id,parent,name,service_type,tariff,status,contract_number,contact_email',
  'account,acme-x,,X,,,,,',
  'service,acme-x-1,nowhere,+421 900 000 009,mobile,Business M,active,,',
  'service,acme-x-2,acme-x,+421 900 000 010,mobile,Business M,lost,,',
  '',
].join('\n')

let browser: Browser
let portal: Portal
let key: string

beforeAll(async () => {
  browser = await launchBrowser()
  portal = await startPortal('sk-isp')
  // The key `npm run demo` prints is made the same way.
  key = await demoOperatorKey(portal.running.zona)
})

afterAll(async () => {
  await browser?.close()
  await portal?.close()
})

/** In English unless asked otherwise: the assertions read the English texts. */
const newPage = (options: PageOptions = {}) => openPage(browser, portal.url, { lang: 'en', ...options })

async function signIn(page: Page, withKey = key) {
  await page.goto('/operator')
  await page.locator('input[name="operator-key"]').fill(withKey)
  await page.locator('form button[type=submit]').click()
}

/** An account request through the public wizard's API, as a visitor would send it. */
async function requestAccount(page: Page, contract: string, email: string) {
  const api = page.context().request
  const csrf = ((await (await api.get('/api/v1/auth/csrf')).json()) as { token: string }).token
  const r = await api.post('/api/v1/account-requests', {
    headers: { 'x-csrf-token': csrf },
    data: { contract_number: contract, email },
  })
  expect(r.status()).toBe(202)
}

describe('the back office in Chromium (sk-isp)', () => {
  it('opens with an operator API key kept in this tab only, refuses a wrong one, and forgets it on sign-out', async () => {
    const page = await newPage()
    await page.goto('/operator')
    await expect.poll(() => heading(page).textContent()).toBe('Back office')
    expect(await page.locator('main').textContent()).toContain('sessionStorage')

    await signIn(page, 'zk_not-a-real-key-at-all')
    await expect
      .poll(() => page.locator('.field-error').textContent())
      .toBe('This key is not valid or was revoked.')

    // By keyboard alone: the heading has focus, Tab reaches the key, Enter opens the back office.
    await page.goto('/operator')
    await heading(page).waitFor()
    await page.keyboard.press('Tab')
    await expect
      .poll(() =>
        page.evaluate(() => (globalThis as unknown as InPage).document.activeElement?.getAttribute('name')),
      )
      .toBe('operator-key')
    await page.keyboard.type(key)
    await page.keyboard.press('Enter')
    await expect.poll(() => heading(page).textContent()).toBe('Customers')
    expect(await page.locator('table.op-customers').textContent()).toContain(DEMO_CUSTOMER)
    const stored = await page.evaluate(() => {
      const w = globalThis as unknown as InPage
      const local: string[] = []
      for (let i = 0; i < w.localStorage.length; i++) {
        const k = w.localStorage.key(i)
        if (k) local.push(w.localStorage.getItem(k) ?? '')
      }
      return { session: w.sessionStorage.getItem('zona.operatorKey'), local }
    })
    expect(stored.session).toBe(key)
    expect(stored.local.join(' ')).not.toContain(key)
    const cookies = await page.context().cookies()
    expect(cookies.map((c) => c.value).join(' ')).not.toContain(key)

    // The key lasts as long as the tab: a reload keeps the back office open.
    await page.reload()
    await expect.poll(() => heading(page).textContent()).toBe('Customers')

    await page.getByRole('button', { name: 'Sign out (forget the key)' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Back office')
    expect(
      await page.evaluate(() => (globalThis as unknown as InPage).sessionStorage.getItem('zona.operatorKey')),
    ).toBeNull()
  })

  it('asks for a key again once the key in use is revoked', async () => {
    const zona = portal.running.zona
    const { apiKey, key: temporary } = await createApiKey(
      zona,
      { id: 'test' },
      { name: 'shift-b', scope: 'operator' },
    )
    const page = await newPage()
    await signIn(page, temporary)
    await expect.poll(() => heading(page).textContent()).toBe('Customers')
    await revokeApiKey(zona, { id: 'test' }, apiKey.id)
    await page.getByRole('link', { name: 'Audit log' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Back office')
    expect(
      await page.evaluate(() => (globalThis as unknown as InPage).sessionStorage.getItem('zona.operatorKey')),
    ).toBeNull()
  })

  it('creates a customer, imports its tree with progress to done, appoints the primary account, and finds and exports the audit events', async () => {
    const page = await newPage()
    await signIn(page)
    await expect.poll(() => heading(page).textContent()).toBe('Customers')

    await page.locator('.new-customer > summary').click()
    await page.locator('input[name="body.name"]').fill('Acme Stavby s.r.o.')
    await page.locator('input[name="body.id"]').fill(CUSTOMER)
    await page.getByRole('button', { name: 'Create the customer' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Acme Stavby s.r.o.')
    expect(await page.locator('.op-counts').textContent()).toContain('0 accounts')
    expect(await page.locator('.facts').textContent()).toContain('sk-isp')

    // The list finds it by a piece of its name, on the server.
    await page.getByRole('link', { name: 'Customers' }).first().click()
    await page.getByLabel('Search customers').fill('Acme')
    await page.getByRole('button', { name: 'Search', exact: true }).click()
    const rows = page.locator('table.op-customers tbody tr')
    await expect.poll(() => rows.count()).toBe(1)
    await rows.first().getByRole('link', { name: 'Acme Stavby s.r.o.' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Acme Stavby s.r.o.')

    // A file with bad rows: nothing is written, and every problem names its line and field.
    await page.getByRole('link', { name: 'Import a tree' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Import a tree')
    const file = page.getByLabel('File (.json or .csv)')
    await file.setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(BAD_CSV) })
    await page.getByRole('button', { name: 'Import', exact: true }).click()
    await expect.poll(() => page.locator('.import-state').textContent()).toBe('Refused')
    const problems = await page.locator('table.import-problems').textContent()
    expect(problems).toContain('csv line 3: parent')
    expect(problems).toContain('csv line 4: status')

    await file.setInputFiles({ name: 'acme.csv', mimeType: 'text/csv', buffer: Buffer.from(GOOD_CSV) })
    await page.getByRole('button', { name: 'Import', exact: true }).click()
    await expect.poll(() => page.locator('.import-state').textContent()).toBe('Done – 5 / 5')
    expect(await page.locator('progress.import-progress').getAttribute('value')).toBe('100')
    expect(await page.locator('.import-job .alert.success').textContent()).toContain(
      'Imported 2 accounts and 3 services.',
    )
    // JSON adds to the tree already there.
    await file.setInputFiles({
      name: 'more.json',
      mimeType: 'application/json',
      buffer: Buffer.from(MORE_JSON),
    })
    await page.getByRole('button', { name: 'Import', exact: true }).click()
    await expect.poll(() => page.locator('.import-state').textContent()).toBe('Done – 2 / 2')
    await page.getByRole('link', { name: 'Back to the customer' }).click()
    await expect.poll(() => page.locator('.op-counts').textContent()).toContain('3 accounts')
    expect(await page.locator('.op-counts').textContent()).toContain('4 services')

    // sk-isp calls the operator-appointed role "Primary account".
    const primary = page.locator('section[aria-labelledby=op-primary-h]')
    expect(await primary.locator('h2').textContent()).toBe('Primary account')
    expect(await primary.textContent()).toContain('Nobody is Primary account yet.')
    await primary.getByLabel('E-mail', { exact: true }).fill('eva.hlavna@acme.test')
    await primary.getByLabel('Name', { exact: true }).fill('Eva Hlavná')
    await primary.getByRole('button', { name: 'Appoint' }).click()
    await expect
      .poll(() => primary.locator('.alert.success').textContent())
      .toBe('Eva Hlavná is now the Primary account.')
    await expect.poll(() => primary.locator('.op-holder').textContent()).toContain('Eva Hlavná')
    await expect.poll(() => page.locator('table.op-people').textContent()).toContain('eva.hlavna@acme.test')

    // The customer's audit events: created, imported, appointed – by this key.
    await page.getByRole('link', { name: 'Audit events of this customer' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Audit log')
    expect(await page.getByLabel('Customer', { exact: true }).inputValue()).toBe(CUSTOMER)
    const audit = page.locator('table.op-audit')
    await expect.poll(() => audit.textContent()).toContain('primary.appointed')
    const text = (await audit.textContent()) ?? ''
    expect(text).toContain('customer.created')
    expect(text).toContain('tree.imported')
    expect(text).toContain('operator:demo-back-office')
    // Filtering by action narrows it to the appointment.
    await page.getByLabel('Action', { exact: true }).fill('primary.')
    await page.getByRole('button', { name: 'Apply the filters' }).click()
    await expect.poll(() => page.locator('table.op-audit tbody tr').count()).toBe(1)
    expect(page.url()).toContain('action=primary.')
    // A time range that ended before anything happened shows nothing.
    await page.getByLabel('Until (not included)').fill('2020-01-01T00:00')
    await page.getByRole('button', { name: 'Apply the filters' }).click()
    await expect.poll(() => page.locator('main').textContent()).toContain('No audit event matches.')
    await page.getByLabel('Until (not included)').fill('')
    await page.getByLabel('Action', { exact: true }).fill('')
    await page.getByRole('button', { name: 'Apply the filters' }).click()
    await expect.poll(() => page.locator('table.op-audit tbody tr').count()).toBeGreaterThanOrEqual(3)

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ])
    expect(download.suggestedFilename()).toMatch(new RegExp(`^zona-audit-${CUSTOMER}-.*\\.csv$`))
    const csv = readFileSync((await download.path()) as string, 'utf8')
    const lines = csv.trim().split(/\r?\n/)
    expect(lines[0]).toContain('action')
    expect(csv).toContain('customer.created')
    expect(csv).toContain('tree.imported')
    expect(csv).toContain('primary.appointed')
    // Only this customer's events: the demo customer's are not in it.
    expect(csv).not.toContain(DEMO_CUSTOMER)
  })

  it('approves a request for an unknown contract naming the customer, and refuses another with a reason', async () => {
    const page = await newPage()
    await requestAccount(page, 'NO-SUCH-CONTRACT', 'novy.kolega@acme.test')
    await requestAccount(page, 'ACME-2000', 'not.on.file@example.test')
    await signIn(page)
    await page.getByRole('link', { name: 'Account requests' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Account requests')
    const unknown = page.locator('.op-request', { hasText: 'NO-SUCH-CONTRACT' })
    const other = page.locator('.op-request', { hasText: 'ACME-2000' })
    await unknown.waitFor()
    expect(await other.textContent()).toContain('Waiting for staff')

    // The contract matched no customer: approving needs one named.
    const approve = unknown.getByRole('button', { name: 'Approve' })
    expect(await approve.isDisabled()).toBe(true)
    await unknown.getByLabel('Customer id').fill(CUSTOMER)
    await approve.click()
    await expect.poll(() => unknown.count()).toBe(0)
    const mail = await portal.catcher.waitFor((m) => m.to.includes('novy.kolega@acme.test'), 10_000)
    expect(mail.text).toMatch(/token=/)

    await other.getByRole('button', { name: 'Refuse' }).click()
    const refuse = other.getByRole('button', { name: 'Refuse the request' })
    expect(await refuse.isDisabled()).toBe(true)
    await other.getByLabel('Reason (audited, not sent)').fill('Not a person of this customer')
    await refuse.click()
    await expect.poll(() => other.count()).toBe(0)

    await page.getByLabel('Show').selectOption({ label: 'Refused' })
    await expect.poll(() => page.locator('.op-request').textContent()).toContain('ACME-2000')
    expect(await page.locator('.op-request').first().textContent()).toContain('operator:demo-back-office')

    await page.getByRole('link', { name: 'Audit log' }).click()
    await page.getByLabel('Action', { exact: true }).fill('account_request.')
    await page.getByRole('button', { name: 'Apply the filters' }).click()
    await expect
      .poll(() => page.locator('table.op-audit').textContent())
      .toContain('account_request.rejected')
    expect(await page.locator('table.op-audit').textContent()).toContain('account_request.approved')
  })

  it('takes screenshots of every back-office screen in every language', async () => {
    const setup = await newPage()
    await requestAccount(setup, 'TAT-100001', 'iny.clovek@example.test')
    for (const lang of LANGUAGES) {
      const page = await newPage({ lang })
      const go = async (path: string, ready: string) => {
        await page.goto(path)
        await page.locator(ready).first().waitFor()
        expect(await page.getAttribute('html', 'lang')).toBe(lang)
      }
      await go('/operator', 'input[name="operator-key"]')
      await shoot(page, lang, 'operator-sign-in')
      await page.locator('input[name="operator-key"]').fill(key)
      await page.locator('form button[type=submit]').click()
      await page.locator('table.op-customers').waitFor()
      await shoot(page, lang, 'operator-customers')
      await go(`/operator/customers/${CUSTOMER}`, 'table.op-people')
      await shoot(page, lang, 'operator-customer', true)
      await go(`/operator/customers/${CUSTOMER}/import`, 'input[type=file]')
      await page
        .locator('input[type=file]')
        .setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(BAD_CSV) })
      await page.locator('form.import-form button[type=submit]').click()
      await page.locator('table.import-problems').waitFor()
      await shoot(page, lang, 'operator-import', true)
      await go(`/operator/audit?customer=${CUSTOMER}`, 'table.op-audit tbody tr')
      await page.locator('details.op-change summary').first().click()
      await shoot(page, lang, 'operator-audit', true)
      await go('/operator/account-requests', '.op-request')
      await shoot(page, lang, 'operator-account-requests', true)
      await page.context().close()
    }
    const phone = await newPage({ phone: true })
    await signIn(phone)
    await phone.locator('table.op-customers').waitFor()
    await shoot(phone, 'en', 'phone-operator-customers')
    await phone.goto(`/operator/audit?customer=${CUSTOMER}`)
    await phone.locator('table.op-audit tbody tr').first().waitFor()
    await shoot(phone, 'en', 'phone-operator-audit')
    // The page itself never scrolls sideways on a phone (wide tables scroll in their own box).
    const wide = await phone.evaluate(() => {
      const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
      return d.documentElement.scrollWidth
    })
    expect(wide).toBeLessThanOrEqual(390)
    writeScreenshotIndex(LANGUAGES)
  })
})
