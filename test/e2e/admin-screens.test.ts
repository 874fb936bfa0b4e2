/**
 * The administrator's screens in Chromium against a real server (o2-cz in English, tim-business in
 * Italian): access review (a person's roles and why; everyone on an account; a person without the
 * right refused), registered people (deactivate → cannot sign in → reactivate → can), the second
 * factor set up from My profile, ordering a new service (shown in the tree), and screenshots of each
 * new screen in every language.
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

let browser: Browser

beforeAll(async () => {
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
})

function pages(portal: () => Portal) {
  const newPage = (options: PageOptions = {}) => openPage(browser, portal().url, options)
  /** Signed in; with a language, the page keeps it on every load (the screenshots switch it instead). */
  const signIn = async (login: string, lang?: string): Promise<Page> => {
    const page = await newPage(lang ? { lang } : {})
    await fillSignIn(page, login)
    await page.locator('.who').waitFor()
    return page
  }
  return { newPage, fillSignIn, signIn }
}

describe('o2-cz: the administrator’s screens in English', () => {
  const CUSTOMER = 'stavby-novak'
  let portal: Portal
  beforeAll(async () => {
    portal = await startPortal('o2-cz')
  })
  afterAll(() => portal?.close())
  const { newPage, fillSignIn, signIn } = pages(() => portal)

  it('access review: a person’s roles and why, everyone on an account, and a viewer refused', async () => {
    const admin = await signIn('jana', 'en')
    await admin.goto(`/c/${CUSTOMER}/users`)
    const karel = admin.locator('table.grants tbody tr', { hasText: 'Karel Horák' })
    await karel.getByRole('link', { name: 'Review access' }).click()
    await expect.poll(() => heading(admin).textContent()).toBe('Access of Karel Horák')
    const roles = admin.locator('table.access-roles')
    await expect.poll(() => roles.textContent()).toContain('Customer account accountant')
    expect(await roles.textContent()).toContain('Pobočka Brno')
    // On his account: invoices through his role there; users he may not manage, and why.
    const allowed = admin.locator('ul.permissions.allowed')
    await expect.poll(() => allowed.textContent()).toContain('See invoices')
    const invoices = allowed.locator('li', { hasText: 'See invoices' })
    expect(await invoices.textContent()).toContain('through Customer account accountant on Pobočka Brno')
    expect(await allowed.textContent()).not.toContain('Manage users')
    await admin.locator('details.unavailable summary').click()
    const users = admin.locator('ul.permissions.refused li', { hasText: 'Manage users' })
    expect(await users.textContent()).toContain('Their role does not include this.')
    const karelId = new URL(admin.url()).searchParams.get('person')
    expect(karelId).toBeTruthy()

    // Everyone whose roles cover the Brno account, from the tree.
    await admin.goto(`/c/${CUSTOMER}/tree`)
    await admin.getByRole('button', { name: 'Open Centrála Praha' }).click()
    await admin
      .locator('.row-account', { hasText: 'Pobočka Brno' })
      .getByRole('link', { name: 'Who has access' })
      .click()
    await expect.poll(() => heading(admin).textContent()).toBe('Who has access to Pobočka Brno')
    const table = admin.locator('table.node-access')
    await expect.poll(() => table.textContent()).toContain('Karel Horák')
    const text = (await table.textContent()) ?? ''
    for (const name of ['Jana Nováková', 'Petr Dvořák', 'Tomáš Procházka']) expect(text).toContain(name)
    // Lucie holds a role on Ostrava only; Jiří on one line under Brno gives nothing on the account.
    expect(text).not.toContain('Lucie Veselá')
    expect(text).not.toContain('Jiří Pokorný')
    const tomas = table.locator('tbody tr', { hasText: 'Tomáš Procházka' })
    expect(await tomas.textContent()).toContain('Customer account administrator')
    expect(await tomas.textContent()).toContain('with detailed statements')

    // A customer viewer may not review anybody: the API refuses, and the screen says why.
    const viewer = await signIn('eva', 'en')
    expect(await viewer.locator('nav').textContent()).not.toContain('Users')
    await viewer.goto(`/c/${CUSTOMER}/access?person=${karelId}`)
    const refusal = viewer.locator('.access-refused')
    await expect.poll(() => refusal.textContent()).toContain('You may not review this access.')
    expect(await refusal.textContent()).toContain('Your role does not include this.')
    await viewer.goto(`/c/${CUSTOMER}/access?node=novak-brno`)
    await expect.poll(() => viewer.locator('.access-refused').count()).toBe(1)
  })

  it('deactivating a login: she cannot sign in; reactivated, she can; the Users list marks her', async () => {
    const admin = await signIn('jana', 'en')
    await admin.getByRole('link', { name: 'Registered people' }).click()
    await expect.poll(() => heading(admin).textContent()).toBe('Registered people')
    const lucie = admin.locator('table.registrations tbody tr', { hasText: 'Lucie Veselá' })
    expect(await lucie.locator('.badge').textContent()).toBe('active')
    // The primary admin's own login is not hers to switch off, and the row says why.
    const own = admin.locator('table.registrations tbody tr', { hasText: 'Jana Nováková' })
    expect(await own.getByRole('button', { name: 'Deactivate the login' }).isDisabled()).toBe(true)
    expect(await own.textContent()).toContain('Nobody switches off their own login.')

    await lucie.getByRole('button', { name: 'Deactivate the login' }).click()
    expect(await lucie.locator('legend').textContent()).toContain('Switch off the login of Lucie Veselá?')
    await lucie.getByRole('button', { name: 'Yes, deactivate' }).click()
    await expect
      .poll(() => admin.locator('.alert.success').textContent())
      .toContain('The login of Lucie Veselá is off')
    await expect.poll(() => lucie.locator('.badge').textContent()).toBe('deactivated')

    const visitor = await newPage({ lang: 'en' })
    await fillSignIn(visitor, 'lucie')
    await expect
      .poll(() => visitor.locator('[role=alert]').first().textContent())
      .toContain('The login or password is not right.')

    await admin.goto(`/c/${CUSTOMER}/users`)
    const row = admin.locator('table.grants tbody tr', { hasText: 'Lucie Veselá' })
    await expect.poll(() => row.locator('.badge.status-deactivated').textContent()).toBe('deactivated')
    expect(await row.getAttribute('class')).toContain('deactivated')

    await admin.goto(`/c/${CUSTOMER}/registrations?status=deactivated`)
    const again = admin.locator('table.registrations tbody tr', { hasText: 'Lucie Veselá' })
    await again.getByRole('button', { name: 'Reactivate the login' }).click()
    await again.getByRole('button', { name: 'Yes, reactivate' }).click()
    await expect
      .poll(() => admin.locator('.alert.success').textContent())
      .toContain('The login of Lucie Veselá is on again.')

    await fillSignIn(visitor, 'lucie')
    await expect.poll(() => heading(visitor).textContent()).toBe('Accounts and services')
  })

  it('the second factor set up from My profile: sign-in then asks for the code; off again with the password', async () => {
    const page = await signIn('zuzana', 'en')
    await page.getByRole('link', { name: 'My profile' }).click()
    const section = page.locator('section[aria-labelledby=totp]')
    await section.getByRole('button', { name: 'Set up the second factor' }).click()
    const secretBox = section.locator('code.secret')
    await secretBox.waitFor()
    const secret = (await secretBox.getAttribute('data-secret')) ?? ''
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/)
    expect(await section.locator('a.uri').getAttribute('href')).toMatch(/^otpauth:\/\/totp\//)
    // A wrong code is refused next to the field, in the reader's language.
    await section.getByLabel('Code from the app').fill('000000')
    await section.getByRole('button', { name: 'Turn on' }).click()
    await expect
      .poll(() => section.locator('.field-error').textContent())
      .toContain('The code does not match.')
    await section.getByLabel('Code from the app').fill(await totpCode(secret, new Date()))
    await section.getByRole('button', { name: 'Turn on' }).click()
    await expect
      .poll(() => section.locator('.alert.success').textContent())
      .toContain('The second factor is on')
    await expect.poll(() => page.locator('.facts').first().textContent()).toContain('on')

    await page.context().clearCookies()
    await fillSignIn(page, 'zuzana')
    const code = page.locator('input[name="body.totp"]')
    await code.waitFor()
    // The next period's code: the one that switched it on may not be used twice.
    await code.fill(await totpCode(secret, new Date(Date.now() + 30_000)))
    await page.getByRole('button', { name: 'Verify and sign in' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Accounts and services')

    await page.goto('/profile')
    await section.getByLabel('Password').fill('not-my-password')
    await section.getByRole('button', { name: 'Turn off the second factor' }).click()
    await expect
      .poll(() => section.locator('.field-error').textContent())
      .toContain('This is not your password.')
    await section.getByLabel('Password').fill(DEMO_PASSWORD)
    await section.getByRole('button', { name: 'Turn off the second factor' }).click()
    await expect.poll(() => section.locator('.alert.success').textContent()).toContain('is off')
    await page.context().clearCookies()
    await fillSignIn(page, 'zuzana')
    await expect.poll(() => heading(page).textContent()).toBe('Accounts and services')
  })

  it('ordering a new service on an account: listed as pending and shown in the tree under the account', async () => {
    const admin = await signIn('jana', 'en')
    await admin.goto(`/c/${CUSTOMER}/tree`)
    await admin.getByRole('button', { name: 'Open Centrála Praha' }).click()
    await admin
      .locator('.row-account', { hasText: 'Pobočka Brno' })
      .getByRole('link', { name: 'Order a service' })
      .click()
    await expect.poll(() => heading(admin).textContent()).toBe('Order a new service')
    const form = admin.locator('form.new-order')
    const account = form.getByLabel('Under the account')
    await expect.poll(() => account.inputValue()).toBe('novak-brno')
    await form.getByLabel('Type of service').selectOption({ label: 'Fixed line' })
    await form.getByLabel('Tariff (optional)').fill('O2 Pevná linka Business')
    await form.getByRole('button', { name: 'Send the order' }).click()
    await expect.poll(() => form.locator('.alert.success').textContent()).toContain('being processed')
    const listed = admin.locator('table.orders tbody tr', { hasText: 'O2 Pevná linka Business' })
    await expect.poll(() => listed.textContent()).toContain('Pobočka Brno')
    expect(await listed.textContent()).toContain('pending')

    await form.getByRole('link', { name: 'See it in accounts and services' }).click()
    await admin.getByRole('button', { name: 'Open Centrála Praha' }).click()
    await admin.getByRole('button', { name: 'Open Pobočka Brno' }).click()
    const ordered = admin.locator('.row-ordered')
    await expect.poll(() => ordered.textContent()).toContain('Fixed line · O2 Pevná linka Business')
    expect(await ordered.textContent()).toContain('pending')

    // A service user may order nothing: no menu item, and the screen says so.
    const user = await signIn('jiri', 'en')
    expect(await user.locator('nav').textContent()).not.toContain('Order a service')
    await user.goto(`/c/${CUSTOMER}/order`)
    await expect
      .poll(() => user.locator('main').textContent())
      .toContain('Your roles allow ordering services on no account.')
  })

  it('takes screenshots of the new screens in every language', async () => {
    const admin = await signIn('jana')
    const martin = await signIn('martin')
    const karelId = await admin.evaluate(async (c) => {
      const r = await fetch(`/api/v1/customers/${c}/grants?limit=100`)
      const page = (await r.json()) as { items: { person: { id: string; login: string | null } }[] }
      return page.items.find((g) => g.person.login === 'karel')?.person.id
    }, CUSTOMER)
    for (const lang of LANGUAGES) {
      for (const page of [admin, martin]) await chooseLanguage(page, lang)
      const go = async (page: Page, path: string, ready: string) => {
        await page.goto(path)
        await page.locator(ready).first().waitFor()
        expect(await page.getAttribute('html', 'lang')).toBe(lang)
      }
      await go(admin, `/c/${CUSTOMER}/access?person=${karelId}`, 'ul.permissions.allowed')
      await admin.locator('details.unavailable summary').click()
      await shoot(admin, lang, 'access-person', true)
      await go(admin, `/c/${CUSTOMER}/access?node=novak-brno`, 'table.node-access')
      await admin.locator('table.node-access details.perms summary').first().click()
      await shoot(admin, lang, 'access-node', true)
      await go(admin, `/c/${CUSTOMER}/registrations`, 'table.registrations')
      await admin
        .locator('table.registrations tbody tr', { hasText: 'Hana Králová' })
        .locator('button')
        .click()
      await shoot(admin, lang, 'registrations', true)
      await go(admin, `/c/${CUSTOMER}/order?account=novak-brno`, 'table.orders')
      await shoot(admin, lang, 'order', true)
      await go(martin, '/profile', 'section[aria-labelledby=totp] button')
      await martin.locator('section[aria-labelledby=totp] .actions button').first().click()
      await martin.locator('code.secret').waitFor()
      await shoot(martin, lang, 'second-factor-setup', true)
    }
    const phone = await newPage({ lang: 'en', phone: true })
    await fillSignIn(phone, 'jana')
    await phone.locator('.who').waitFor()
    await phone.goto(`/c/${CUSTOMER}/access?person=${karelId}`)
    await phone.locator('ul.permissions.allowed').waitFor()
    await shoot(phone, 'en', 'phone-access-person', true)
    await phone.goto(`/c/${CUSTOMER}/access?node=novak-brno`)
    await phone.locator('table.node-access').waitFor()
    await shoot(phone, 'en', 'phone-access-node', true)
    await phone.goto(`/c/${CUSTOMER}/registrations`)
    await phone.locator('table.registrations').waitFor()
    await shoot(phone, 'en', 'phone-registrations', true)
    writeScreenshotIndex(LANGUAGES)
  })
})

describe('tim-business: the administrator’s screens in Italian', () => {
  const CUSTOMER = 'rossi-costruzioni'
  let portal: Portal
  beforeAll(async () => {
    portal = await startPortal('tim-business')
  })
  afterAll(() => portal?.close())
  const { newPage, fillSignIn, signIn } = pages(() => portal)

  it('the legal representative reviews a user’s access; a light administrator is refused', async () => {
    const admin = await signIn('giovanni', 'it')
    await admin.goto(`/c/${CUSTOMER}/users`)
    const sara = admin.locator('table.grants tbody tr', { hasText: 'Sara Colombo' })
    await sara.getByRole('link', { name: 'Rivedi accessi' }).click()
    await expect.poll(() => heading(admin).textContent()).toBe('Accessi di Sara Colombo')
    await expect.poll(() => admin.locator('table.access-roles').textContent()).toContain('Utilizzatore')
    const allowed = admin.locator('ul.permissions.allowed')
    await expect.poll(() => allowed.textContent()).toContain('Bloccare una linea persa o rubata')
    expect(await allowed.textContent()).toContain('tramite Utilizzatore su')
    await admin.locator('details.unavailable summary').click()
    const invoices = admin.locator('ul.permissions.refused li', { hasText: 'Vedere le fatture' })
    expect(await invoices.textContent()).toContain('Il suo ruolo non lo comprende.')
    const saraId = new URL(admin.url()).searchParams.get('person')

    const light = await signIn('luca', 'it')
    await light.goto(`/c/${CUSTOMER}/access?person=${saraId}`)
    await expect
      .poll(() => light.locator('.access-refused').textContent())
      .toContain('Non puoi rivedere questi accessi.')
  })

  it('deactivating a user: she cannot sign in; reactivated, she can', async () => {
    const admin = await signIn('giovanni', 'it')
    await admin.getByRole('link', { name: 'Utenze registrate' }).click()
    const sara = admin.locator('table.registrations tbody tr', { hasText: 'Sara Colombo' })
    await sara.getByRole('button', { name: 'Disattiva l’utenza' }).click()
    await sara.getByRole('button', { name: 'Sì, disattiva' }).click()
    await expect.poll(() => sara.locator('.badge').textContent()).toBe('disattivata')
    const visitor = await newPage({ lang: 'it' })
    await fillSignIn(visitor, 'sara')
    await expect
      .poll(() => visitor.locator('[role=alert]').first().textContent())
      .toContain('Nome utente o password non corretti.')
    await sara.getByRole('button', { name: 'Riattiva l’utenza' }).click()
    await sara.getByRole('button', { name: 'Sì, riattiva' }).click()
    await expect.poll(() => sara.locator('.badge').textContent()).toBe('attiva')
    await fillSignIn(visitor, 'sara')
    await expect.poll(() => heading(visitor).textContent()).toBe('Conti e servizi')
  })

  it('ordering a mobile line on a branch shows it in the tree', async () => {
    const admin = await signIn('giovanni', 'it')
    await admin.locator('nav').getByRole('link', { name: 'Ordina un servizio' }).click()
    const form = admin.locator('form.new-order')
    await form.getByLabel('Sul conto').selectOption('rossi-roma')
    await form.getByLabel('Tipo di servizio').selectOption({ label: 'Linea mobile' })
    await form.getByLabel('Offerta (facoltativa)').fill('TIM Business Start')
    await form.getByRole('button', { name: 'Invia la richiesta' }).click()
    await form.locator('.alert.success').waitFor()
    await admin.goto(`/c/${CUSTOMER}/tree`)
    await admin.getByRole('button', { name: 'Apri Filiale Roma' }).click()
    await expect
      .poll(() => admin.locator('.row-ordered').textContent())
      .toContain('Linea mobile · TIM Business Start')
  })
})
