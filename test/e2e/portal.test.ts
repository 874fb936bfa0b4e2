/**
 * The customer zone in a real browser (Debian Chromium via playwright-core) against a real server
 * on PGlite with the o2-cz demo customer: what a primary admin and a service user see and may do,
 * the forgotten-password e-mail, the second factor, and screenshots of every screen in every
 * language (docs/screenshots/<lang>-<screen>.png).
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { totpCode } from '../../src/auth/totp.ts'
import { DEMO_PASSWORD } from '../../src/demo/presets.ts'
import {
  chooseLanguage,
  fillSignIn,
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
  localStorage: { setItem(key: string, value: string): void }
  document: { activeElement: { getAttribute(name: string): string | null } | null }
}

const CUSTOMER = 'stavby-novak'
const SERVICE = 'novak-centrala-mobile-001'

let browser: Browser
let portal: Portal

beforeAll(async () => {
  browser = await launchBrowser()
  portal = await startPortal('o2-cz')
})

afterAll(async () => {
  await browser?.close()
  await portal?.close()
})

const newPage = (options: PageOptions = {}) => openPage(browser, portal.url, options)
const signIn = fillSignIn

describe('o2-cz in Chromium', () => {
  it('the primary admin signs in in Czech, sees the tree, opens a service, orders, sees invoices and users', async () => {
    const page = await newPage()
    await page.goto('/')
    await expect.poll(() => heading(page).textContent()).toBe('Přihlášení')
    expect(await page.getAttribute('html', 'lang')).toBe('cs')

    // A wrong password: the problem is shown, in Czech, and nothing else happens.
    await signIn(page, 'jana', 'not-the-password')
    await expect
      .poll(() => page.locator('[role=alert]').first().textContent())
      .toContain('Přihlašovací jméno nebo heslo nesouhlasí')

    await signIn(page, 'jana')
    await expect.poll(() => heading(page).textContent()).toBe('Účty a služby')
    const who = await page.locator('.who').textContent()
    expect(who).toContain('Jana Nováková')
    expect(who).toContain('Primární správce zákazníka')
    expect(who).toContain('Stavby Novák s.r.o.')

    // The one top-most node (the customer) opens by itself; open an account, then a line in it.
    await page.getByRole('button', { name: 'Otevřít Centrála Praha' }).click()
    const line = page.locator(`a[href="/c/${CUSTOMER}/services/${SERVICE}"]`)
    const lineName = (await line.textContent()) ?? ''
    await line.click()
    await expect.poll(() => heading(page).textContent()).toBe(lineName)
    const facts = await page.locator('.facts').textContent()
    expect(facts).toContain('O2 Business Neon')
    expect(facts).toContain('aktivní')

    // Ordering the tariff the line already has: the server's reason, next to the field.
    const tariff = (await page.locator('.facts dt:has-text("Tarif") + dd').textContent()) ?? ''
    await page.getByRole('button', { name: 'Změnit tarif' }).click()
    await page.locator('input[name="body.payload.tariff"]').fill(tariff)
    await page.getByRole('button', { name: 'Odeslat objednávku' }).click()
    await expect.poll(() => page.locator('.order-form [role=alert]').first().textContent()).toContain(tariff)
    const other = tariff === 'O2 Business Neon L' ? 'O2 Business Neon S' : 'O2 Business Neon L'
    await page.locator('input[name="body.payload.tariff"]').fill(other)
    await page.getByRole('button', { name: 'Odeslat objednávku' }).click()
    await expect.poll(() => page.locator('.alert.success').textContent()).toContain('ke zpracování')

    // The service page shows the line's invoices and usage, which a primary admin may see.
    expect(await page.locator('#svc-invoices').count()).toBe(1)
    expect(await page.locator('#svc-usage').count()).toBe(1)
    expect(await page.locator('.chart svg rect').count()).toBeGreaterThan(0)

    // Invoices hang on the accounts: the first one is shown, the others are a choice away.
    await page.getByRole('link', { name: 'Vyúčtování' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Vyúčtování')
    await page.locator('table.invoices tbody tr').first().waitFor()
    expect(await page.locator('table.invoices tbody tr').count()).toBe(6)
    const accounts = await page.getByLabel('Za').locator('option').allTextContents()
    expect(accounts.some((a) => a.includes('Pobočka Brno'))).toBe(true)

    await page.getByRole('link', { name: 'Uživatelé' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Uživatelé')
    await page.locator('table.grants').waitFor()
    expect(await page.locator('table.grants').textContent()).toContain('Petr Dvořák')
    // The role picker offers what the engine allows and explains the rest.
    await page.locator('.give-form > summary').click()
    const roleSelect = page.locator('.give-form').getByLabel('Role', { exact: true })
    await roleSelect.waitFor()
    const offered = await roleSelect.locator('option').allTextContents()
    expect(offered).toContain('Správce zákazníka')
    expect(offered).not.toContain('Primární správce zákazníka')
    await page.locator('.give-form details.unavailable summary').click()
    const refused = await page.locator('.give-form details.unavailable').textContent()
    expect(refused).toContain('Primární správce zákazníka')
    expect(refused).toContain('Tuto roli jmenují jen pracovníci operátora.')
  })

  it('a service user sees their line, may block it, and is offered no invoices', async () => {
    const page = await newPage({ lang: 'en' })
    await signIn(page, 'jiri')
    await expect.poll(() => heading(page).textContent()).toBe('Accounts and services')
    const menu = await page.locator('nav').textContent()
    expect(menu).not.toContain('Invoices')
    expect(menu).not.toContain('Users')
    const rows = page.locator('.row-service')
    await rows.first().waitFor()
    expect(await rows.count()).toBe(1)
    await rows.first().locator('a').click()
    await page.locator('#svc-actions').waitFor()
    expect(await page.getByRole('button', { name: 'Block (lost or stolen)' }).isEnabled()).toBe(true)
    await page.locator('details.unavailable summary').click()
    const tariff = page.locator('details.unavailable button', { hasText: 'Change tariff' })
    expect(await tariff.isDisabled()).toBe(true)
    expect(await page.locator('details.unavailable').textContent()).toContain(
      'Your role does not include this.',
    )
    expect(await page.locator('#svc-invoices').count()).toBe(0)
    expect(await page.locator('#svc-statements').count()).toBe(0)

    // Typing the address does not help: the screen says so, and the API refuses.
    await page.goto(`/c/${CUSTOMER}/invoices`)
    await expect.poll(() => page.locator('main').textContent()).toContain('Your roles do not show this')
    const status = await page.evaluate(
      (c) => fetch(`/api/v1/accounts/${c}/invoices`).then((r) => r.status),
      CUSTOMER,
    )
    expect(status).toBe(404)
  })

  it('a forgotten password is reset through the link in the e-mail', async () => {
    const page = await newPage({ lang: 'en' })
    await page.goto('/')
    await page.getByRole('link', { name: 'Forgotten password?' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Forgotten password')
    await page.locator('input[name="body.login_or_email"]').fill('eva')
    await page.getByRole('button', { name: 'Send the link' }).click()
    await page.locator('.alert.success').waitFor()
    const mail = await portal.catcher.waitFor((m) => m.to.includes('eva.svobodova@'), 10_000)
    const token = /reset-password\?token=([^\s"&<]+)/.exec(mail.text)?.[1]
    expect(token).toBeTruthy()
    await page.goto(`/reset-password?token=${token}`)
    await page.locator('input[name="body.new_password"]').fill('short')
    await page.locator('input[name="confirm"]').fill('short')
    await page.getByRole('button', { name: 'Set the password' }).click()
    // The server's rule, shown next to the field it names.
    await expect
      .poll(() => page.locator('input[name="body.new_password"] ~ .field-error').textContent())
      .toBeTruthy()
    const fresh = 'a-new-long-password-2026'
    await page.locator('input[name="body.new_password"]').fill(fresh)
    await page.locator('input[name="confirm"]').fill(fresh)
    await page.getByRole('button', { name: 'Set the password' }).click()
    await page.locator('.alert.success').waitFor()
    await signIn(page, 'eva', fresh)
    await expect.poll(() => heading(page).textContent()).toBe('Accounts and services')
  })

  it('with a second factor, sign-in asks for the code and accepts it', async () => {
    const page = await newPage({ lang: 'en' })
    const secret = await enableSecondFactor(page, 'petr')
    await page.context().clearCookies()
    await signIn(page, 'petr')
    const code = page.locator('input[name="body.totp"]')
    await code.waitFor()
    await expect
      .poll(() =>
        page.evaluate(() => (globalThis as unknown as InPage).document.activeElement?.getAttribute('name')),
      )
      .toBe('body.totp')
    await code.fill('000000')
    await page.getByRole('button', { name: 'Verify and sign in' }).click()
    await expect.poll(() => page.locator('.field-error').textContent()).toContain('wrong')
    await code.fill(await totpCode(secret, new Date(Date.now() + 30_000)))
    await page.getByRole('button', { name: 'Verify and sign in' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Accounts and services')
  })

  it('the primary admin gives a role, changes it and revokes it, with the picker following the engine', async () => {
    const page = await newPage({ lang: 'en' })
    await signIn(page, 'jana')
    await page.locator('.who').waitFor()
    await page.goto(`/c/${CUSTOMER}/users`)
    await page.locator('table.grants').waitFor()
    await page.locator('.give-form > summary').click()
    const form = page.locator('.give-form')
    await form.getByLabel('Person').selectOption({ label: 'Hana Králová (hana)' })
    await form.getByLabel('Scope').selectOption({ label: 'Centrála Praha (account)' })
    const role = form.getByLabel('Role', { exact: true })
    await expect.poll(() => role.locator('option').allTextContents()).toContain('Customer account viewer')
    // A customer-level role does not go on an account: not offered, and explained.
    expect(await role.locator('option').allTextContents()).not.toContain('Customer administrator')
    await role.selectOption({ label: 'Customer account viewer' })
    await form.getByRole('button', { name: 'Give the role' }).click()
    await form.locator('.alert.success').waitFor()

    const row = page
      .locator('table.grants tbody tr', { hasText: 'Hana Králová' })
      .filter({ hasText: 'Centrála Praha' })
    await row.waitFor()
    expect(await row.textContent()).toContain('Customer account viewer')
    expect(await row.textContent()).toContain('Jana Nováková')

    await row.getByRole('button', { name: 'Change' }).click()
    const picker = row.getByLabel('Role', { exact: true })
    await expect
      .poll(() => picker.locator('option').allTextContents())
      .toContain('Customer account accountant')
    await picker.selectOption({ label: 'Customer account accountant' })
    await row.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => row.locator('td').nth(1).textContent()).toContain('Customer account accountant')

    await row.getByRole('button', { name: 'Revoke' }).click()
    await row.getByRole('button', { name: 'Yes, revoke' }).click()
    await expect.poll(() => row.count()).toBe(0)
  })

  it('an invited colleague accepts from the e-mail, sees invoices, and no longer does once reduced to a viewer', async () => {
    const admin = await newPage({ lang: 'en' })
    await signIn(admin, 'jana')
    await admin.locator('.who').waitFor()
    await admin.goto(`/c/${CUSTOMER}/users`)
    await admin.locator('table.grants').waitFor()
    await admin.locator('.invite-form > summary').click()
    const form = admin.locator('.invite-form')
    await form.getByLabel('E-mail', { exact: true }).fill('klara.mala@stavby-novak.cz')
    await form.getByLabel('Login name (optional)').fill('klara')
    await form.getByLabel('Name', { exact: true }).fill('Klára Malá')
    const role = form.getByLabel('Role', { exact: true })
    await expect.poll(() => role.locator('option').allTextContents()).toContain('Customer accountant')
    await role.selectOption({ label: 'Customer accountant' })
    await form.getByRole('button', { name: 'Send the invitation' }).click()
    await form.locator('.alert.success').waitFor()
    await expect
      .poll(() => admin.locator('table.invitations').textContent())
      .toContain('klara.mala@stavby-novak.cz')

    const mail = await portal.catcher.waitFor((m) => m.to.includes('klara.mala@'), 10_000)
    const token = /invitation\?token=([^\s"&<]+)/.exec(mail.text)?.[1]
    expect(token).toBeTruthy()
    const colleague = await newPage({ lang: 'en' })
    await colleague.goto(`/invitation?token=${token}`)
    await expect.poll(() => colleague.locator('main').textContent()).toContain('Jana Nováková invites you')
    expect(await colleague.locator('main').textContent()).toContain('Customer accountant')
    await colleague.locator('input[name="body.password"]').fill('klara-password-2026')
    await colleague.locator('input[name="confirm"]').fill('klara-password-2026')
    await colleague.getByRole('button', { name: 'Accept' }).click()
    await colleague.locator('.who').waitFor()
    expect(await colleague.locator('.who').textContent()).toContain('Klára Malá')
    await colleague.locator('nav').getByRole('link', { name: 'Invoices', exact: true }).click()
    await colleague.locator('table.invoices tbody tr').first().waitFor()

    // Reduced to a viewer: on the next request the invoices are gone from the menu and the API.
    await admin.reload()
    const row = admin.locator('table.grants tbody tr', { hasText: 'Klára Malá' })
    await row.getByRole('button', { name: 'Change' }).click()
    await row.getByLabel('Role', { exact: true }).selectOption({ label: 'Customer viewer' })
    await row.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => row.locator('td').nth(1).textContent()).toContain('Customer viewer')
    await colleague.goto(`/c/${CUSTOMER}/tree`)
    await colleague.locator('.row').first().waitFor()
    expect(await colleague.locator('nav').textContent()).not.toContain('Invoices')
  })

  it('takes screenshots of every screen in every language', async () => {
    await enableSecondFactor(await newPage(), 'marie')
    const invitationToken = await inviteByApi(await newPage(), 'jana', 'novy.kolega@stavby-novak.cz')
    const admin = await newPage()
    await signIn(admin, 'jana')
    await admin.locator('.who').waitFor()
    const user = await newPage()
    await signIn(user, 'jiri')
    await user.locator('.who').waitFor()
    const jiriService = await user.evaluate(async (c) => {
      const r = await fetch(`/api/v1/customers/${c}/roots`)
      return ((await r.json()) as { items: { id: string }[] }).items[0]?.id
    }, CUSTOMER)

    for (const lang of LANGUAGES) {
      for (const page of [admin, user]) await chooseLanguage(page, lang)
      const go = async (page: Page, path: string, ready: string) => {
        await page.goto(path)
        await page.locator(ready).first().waitFor()
        expect(await page.getAttribute('html', 'lang')).toBe(lang)
      }
      await go(admin, `/c/${CUSTOMER}/tree`, '.row-account')
      await admin.locator('.row-account .toggle').first().click()
      await admin.locator('.row-service').first().waitFor()
      await shoot(admin, lang, 'tree')
      await go(admin, `/c/${CUSTOMER}/tree?q=Brno`, '.row')
      await shoot(admin, lang, 'search')
      await go(admin, `/c/${CUSTOMER}/services/${SERVICE}`, '.chart svg')
      await admin.locator('section[aria-labelledby=svc-statements] details').first().waitFor()
      await shoot(admin, lang, 'service', true)
      await go(user, `/c/${CUSTOMER}/services/${jiriService}`, '#svc-actions')
      await user.locator('details.unavailable summary').click()
      await shoot(user, lang, 'service-user', true)
      await go(admin, `/c/${CUSTOMER}/invoices`, 'table.invoices tbody tr')
      await shoot(admin, lang, 'invoices')
      await go(admin, `/c/${CUSTOMER}/statements?node=${SERVICE}&on=services`, 'details.card')
      await admin.locator('details.card summary').first().click()
      await shoot(admin, lang, 'statements')
      await go(admin, `/c/${CUSTOMER}/users`, 'table.invitations')
      await admin.locator('.give-form > summary').click()
      await admin.locator('.give-form select').first().selectOption({ index: 3 })
      await admin.locator('.give-form details.unavailable summary').click()
      await shoot(admin, lang, 'users', true)
      await go(admin, '/profile', '.facts')
      await shoot(admin, lang, 'profile', true)

      const visitor = await newPage({ lang })
      await visitor.goto('/')
      await visitor.locator('input[name="body.login"]').waitFor()
      await shoot(visitor, lang, 'sign-in')
      await signIn(visitor, 'marie')
      await visitor.locator('input[name="body.totp"]').waitFor()
      await shoot(visitor, lang, 'second-factor')
      await visitor.goto('/forgot-password')
      await visitor.locator('input[name="body.login_or_email"]').waitFor()
      await shoot(visitor, lang, 'forgot-password')
      await visitor.goto(`/invitation?token=${invitationToken}`)
      await visitor.locator('input[name="body.password"]').waitFor()
      await shoot(visitor, lang, 'invitation')
      await visitor.goto('/reset-password?token=from-the-e-mail')
      await visitor.locator('input[name="body.new_password"]').waitFor()
      await shoot(visitor, lang, 'reset-password')
      await visitor.context().close()
    }

    const phone = await newPage({ lang: 'en', phone: true })
    await signIn(phone, 'jana')
    await phone.locator('.row-account').first().waitFor()
    await shoot(phone, 'en', 'phone-tree')
    await phone.goto(`/c/${CUSTOMER}/services/${SERVICE}`)
    await phone.locator('.chart svg').waitFor()
    await shoot(phone, 'en', 'phone-service', true)
    writeScreenshotIndex(LANGUAGES)
  })
})

/** Turns the second factor on for a demo person through the API, as the profile would; returns the secret. */
async function enableSecondFactor(page: Page, login: string): Promise<string> {
  const api = page.context().request
  const csrf = async () => ((await (await api.get('/api/v1/auth/csrf')).json()) as { token: string }).token
  const headers = { 'x-csrf-token': await csrf() }
  const signedIn = await api.post('/api/v1/auth/login', { headers, data: { login, password: DEMO_PASSWORD } })
  expect(signedIn.status()).toBe(200)
  const setup = await api.post('/api/v1/auth/totp/setup', { headers })
  expect(setup.status()).toBe(200)
  const { secret } = (await setup.json()) as { secret: string }
  const enabled = await api.post('/api/v1/auth/totp/enable', {
    headers,
    data: { code: await totpCode(secret, new Date()) },
  })
  expect(enabled.status()).toBe(204)
  return secret
}

/** A pending invitation made through the API as `login` would in the Users screen; returns the link's token. */
async function inviteByApi(page: Page, login: string, email: string): Promise<string> {
  const api = page.context().request
  const headers = {
    'x-csrf-token': ((await (await api.get('/api/v1/auth/csrf')).json()) as { token: string }).token,
  }
  expect(
    (await api.post('/api/v1/auth/login', { headers, data: { login, password: DEMO_PASSWORD } })).status(),
  ).toBe(200)
  const invited = await api.post(`/api/v1/customers/${CUSTOMER}/invitations`, {
    headers,
    data: { email, display_name: 'Nový Kolega', grants: [{ role: 'customer-viewer', scope: CUSTOMER }] },
  })
  expect(invited.status()).toBe(201)
  const mail = await portal.catcher.waitFor((m) => m.to.includes(email), 10_000)
  const token = /invitation\?token=([^\s"&<]+)/.exec(mail.text)?.[1]
  if (!token) throw new Error('no invitation link in the e-mail')
  return token
}
