/**
 * The seeds' main journeys end to end in Debian Chromium, each against a real server of its preset
 * (PGlite in memory, the demo customer) and the real SMTP catcher; every link and code is read from
 * the e-mail that was caught:
 *
 * - TIM (004): the legal representative registers a colleague as Admin Full; the colleague accepts
 *   from the e-mail and sees invoices; reduced to User on one line they no longer do; their login
 *   is switched off and the role revoked, and they cannot sign in.
 * - OVH (002): the administrative contact names a new technical contact; both confirm with their own
 *   code (one signed in, one from the e-mail link without a session); the service shows the new one.
 * - sk-isp (003): the account-request wizard from the sign-in page, with the operator's approval
 *   through the back-office API, to a signed-in account that sees no invoices.
 *
 * Then screenshots of the new screens in every language (docs/screenshots/<lang>-<screen>.png).
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApiKey } from '../../src/commands/operator/api-keys.ts'
import {
  chooseLanguage,
  fillSignIn,
  heading,
  LANGUAGES,
  launchBrowser,
  openPage,
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

const newPage = (portal: Portal, lang?: string) => openPage(browser, portal.url, lang ? { lang } : {})
const signIn = fillSignIn
const loginOf = (portal: Portal, name: string) => {
  const login = portal.logins.find((l) => l.name === name)?.login
  if (!login) throw new Error(`no demo person ${name}`)
  return login
}

/** The last e-mail to `address` whose text matches `pattern`, and the pattern's first group. */
async function linkIn(portal: Portal, address: string, pattern: RegExp): Promise<[string, string]> {
  const mail = await portal.catcher.waitFor((m) => m.to.includes(address) && pattern.test(m.text), 10_000)
  const m = pattern.exec(mail.text)
  if (!m?.[1]) throw new Error(`no link in the e-mail to ${address}:\n${mail.text}`)
  return [m[1], m[2] ?? '']
}

// ------------------------------------------------------------------------------------ TIM

describe('TIM Business: a colleague registered as Admin Full, reduced to User, then switched off', () => {
  let portal: Portal
  const CUSTOMER = 'rossi-costruzioni'
  const LINE = 'rossi-roma-mobile-001'
  const EMAIL = 'elena.greco@rossicostruzioni.it'
  const PASSWORD = 'elena-password-2026'

  beforeAll(async () => {
    portal = await startPortal('tim-business')
  })
  afterAll(() => portal?.close())

  it('follows the legal representative and the colleague in Italian', async () => {
    const rep = await newPage(portal)
    await signIn(rep, loginOf(portal, 'Giovanni Rossi'))
    await rep.locator('.who').waitFor()
    expect(await rep.locator('.who').textContent()).toContain('Rappresentante Legale')

    // Registers the colleague from the Users screen, with the role picker's Admin Full.
    await rep.locator('nav').getByRole('link', { name: 'Utenti', exact: true }).click()
    await rep.locator('table.grants').waitFor()
    await rep.locator('.invite-form > summary').click()
    const form = rep.locator('.invite-form')
    await form.getByLabel('E-mail', { exact: true }).fill(EMAIL)
    await form.getByLabel('Nome utente (facoltativo)').fill('elena')
    await form.getByLabel('Nome', { exact: true }).fill('Elena Greco')
    const role = form.getByLabel('Profilo', { exact: true })
    await expect.poll(() => role.locator('option').allTextContents()).toContain('Amministratore Full')
    // Only the operator appoints a legal representative: not offered.
    expect(await role.locator('option').allTextContents()).not.toContain('Rappresentante Legale')
    await role.selectOption({ label: 'Amministratore Full' })
    await form.locator('button[type=submit]').click()
    await form.locator('.alert.success').waitFor()

    // The colleague accepts from the e-mail and sets a password.
    const [token] = await linkIn(portal, EMAIL, /\/invitation\?token=([^\s"&<]+)/)
    const colleague = await newPage(portal)
    await colleague.goto(`/invitation?token=${token}`)
    await expect.poll(() => colleague.locator('main').textContent()).toContain('Giovanni Rossi')
    expect(await colleague.locator('main').textContent()).toContain('Amministratore Full')
    await colleague.locator('input[name="body.password"]').fill(PASSWORD)
    await colleague.locator('input[name="confirm"]').fill(PASSWORD)
    await colleague.getByRole('button', { name: 'Accetta', exact: true }).click()
    await colleague.locator('.who').waitFor()
    expect(await colleague.locator('.who').textContent()).toContain('Elena Greco')
    expect(await colleague.locator('.who').textContent()).toContain('Amministratore Full')
    await colleague.locator('nav').getByRole('link', { name: 'Fatture', exact: true }).click()
    await colleague.locator('table.invoices tbody tr').first().waitFor()

    // The legal representative reduces her to User on one line.
    await rep.reload()
    const row = rep.locator('table.grants tbody tr', { hasText: 'Elena Greco' })
    await row.getByRole('button', { name: 'Modifica' }).click()
    await row.locator('input[name="scope-search"]').fill(LINE)
    await row.getByRole('button', { name: 'Cerca' }).click()
    const scope = row.getByLabel('Ambito', { exact: true })
    await expect.poll(() => scope.locator('option').count()).toBe(2)
    await scope.selectOption({ index: 1 })
    const picker = row.getByLabel('Profilo', { exact: true })
    await expect.poll(() => picker.locator('option').allTextContents()).toContain('Utilizzatore')
    await picker.selectOption({ label: 'Utilizzatore' })
    await row.getByRole('button', { name: 'Salva' }).click()
    await expect.poll(() => row.locator('td').nth(1).textContent()).toContain('Utilizzatore')
    await expect.poll(() => row.locator('td').nth(2).textContent()).toContain('servizio')

    // On her next request the invoices are gone: from the menu and from the API.
    await colleague.goto(`/c/${CUSTOMER}/tree`)
    await colleague.locator('.row').first().waitFor()
    expect(await colleague.locator('.who').textContent()).toContain('Utilizzatore')
    expect(await colleague.locator('nav').textContent()).not.toContain('Fatture')
    const invoices = await colleague.evaluate(
      (c) => fetch(`/api/v1/accounts/${c}/invoices`).then((r) => r.status),
      CUSTOMER,
    )
    expect(invoices).toBe(404)

    // Her login is switched off (Utenze registrate), then the role revoked (Utenti).
    await rep.locator('nav').getByRole('link', { name: 'Utenze registrate' }).click()
    const registration = rep.locator('table.registrations tbody tr', { hasText: 'Elena Greco' })
    await registration.getByRole('button', { name: /Disattiva/ }).click()
    await registration.getByRole('button', { name: 'Sì, disattiva' }).click()
    await rep.locator('.alert.success').waitFor()
    await rep.locator('nav').getByRole('link', { name: 'Utenti', exact: true }).click()
    const granted = rep.locator('table.grants tbody tr', { hasText: 'Elena Greco' })
    await granted.getByRole('button', { name: 'Revoca' }).click()
    await granted.getByRole('button', { name: 'Sì, revoca' }).click()
    await expect.poll(() => granted.count()).toBe(0)

    // Her open session has ended, and she cannot sign in again.
    await colleague.reload()
    await colleague.locator('input[name="body.login"]').waitFor()
    await signIn(colleague, 'elena', PASSWORD)
    await expect
      .poll(() => colleague.locator('[role=alert]').first().textContent())
      .toContain('Nome utente o password non corretti')
    expect(await colleague.locator('.who').count()).toBe(0)
  })
})

// ------------------------------------------------------------------------------------ NOS

describe('NOS: the Administrator adds a Billing manager, who registers from the e-mail', () => {
  let portal: Portal
  const EMAIL = 'sofia.marques@almeida.pt'
  const PASSWORD = 'sofia-password-2026'

  beforeAll(async () => {
    portal = await startPortal('nos-pt')
  })
  afterAll(() => portal?.close())

  // The seed's steps: Perfil → Gerir Utilizadores → Adicionar Utilizador (name, e-mail, level),
  // then "o novo utilizador deve aceder ao link enviado no e-mail".
  it('follows the administrator and the new user in Portuguese', async () => {
    const admin = await newPage(portal)
    await signIn(admin, loginOf(portal, 'João Almeida'))
    await admin.locator('.who').waitFor()
    expect(await admin.locator('.who').textContent()).toContain('Administrador')

    await admin.locator('nav').getByRole('link', { name: 'Utilizadores', exact: true }).click()
    await admin.locator('table.grants').waitFor()
    await admin.locator('.invite-form > summary').click()
    const form = admin.locator('.invite-form')
    await form.getByLabel('E-mail', { exact: true }).fill(EMAIL)
    await form.getByLabel('Nome de utilizador (opcional)').fill('sofia')
    await form.getByLabel('Nome', { exact: true }).fill('Sofia Marques')
    const role = form.getByLabel('Perfil', { exact: true })
    await expect.poll(() => role.locator('option').allTextContents()).toContain('Responsável de Faturação')
    // The seed's four levels are offered; another Administrator is not.
    const offered = await role.locator('option').allTextContents()
    for (const level of ['Responsável Delegado', 'Responsável Técnico']) expect(offered).toContain(level)
    expect(offered).not.toContain('Administrador')
    await role.selectOption({ label: 'Responsável de Faturação' })
    await form.locator('button[type=submit]').click()
    await form.locator('.alert.success').waitFor()

    const [token] = await linkIn(portal, EMAIL, /\/invitation\?token=([^\s"&<]+)/)
    const user = await newPage(portal)
    await user.goto(`/invitation?token=${token}`)
    await expect.poll(() => user.locator('main').textContent()).toContain('João Almeida')
    expect(await user.locator('main').textContent()).toContain('Responsável de Faturação')
    await user.locator('input[name="body.password"]').fill(PASSWORD)
    await user.locator('input[name="confirm"]').fill(PASSWORD)
    await user.getByRole('button', { name: 'Aceitar', exact: true }).click()
    await user.locator('.who').waitFor()
    expect(await user.locator('.who').textContent()).toContain('Sofia Marques')
    expect(await user.locator('.who').textContent()).toContain('Responsável de Faturação')

    // Financial data, with payment status; no users to manage.
    const nav = user.locator('nav')
    expect(await nav.textContent()).not.toContain('Utilizadores')
    await nav.getByRole('link', { name: 'Faturas', exact: true }).click()
    await user.locator('table.invoices tbody tr').first().waitFor()
    expect(await user.locator('table.invoices thead').textContent()).toContain('Pagamento')

    // She now appears to the administrator with her role and who gave it.
    await admin.reload()
    const row = admin.locator('table.grants tbody tr', { hasText: 'Sofia Marques' })
    await expect.poll(() => row.textContent()).toContain('Responsável de Faturação')
    expect(await row.textContent()).toContain('João Almeida')
  })
})

// ------------------------------------------------------------------------------------ OVH

describe('OVH: a technical contact changes hands once both parties confirm', () => {
  let portal: Portal
  const CUSTOMER = 'hosting-praha'
  const SERVICE = 'hp-produkce-vps-001'

  beforeAll(async () => {
    portal = await startPortal('ovh')
  })
  afterAll(() => portal?.close())

  it('the administrative contact asks, both approve with their codes, the service shows the new contact', async () => {
    const newContact = loginOf(portal, 'Alena Kadlecová')
    const admin = await newPage(portal)
    await signIn(admin, loginOf(portal, 'Klára Němcová'))
    await admin.locator('.who').waitFor()
    await admin.goto(`/c/${CUSTOMER}/services/${SERVICE}`)
    const card = admin.locator('section[aria-labelledby=svc-contacts]')
    await card.locator('.contact-cell').first().waitFor()
    const technical = card.locator('.contact-cell[data-kind=technical]')
    expect(await technical.textContent()).toContain('David Říha')

    // A wrong identifier: the server's problem next to the field.
    await technical.getByRole('button', { name: 'Změnit' }).click()
    await technical.locator('input[name="body.new_contact"]').fill('XX00000-OVH')
    await technical.getByRole('button', { name: 'Požádat o změnu' }).click()
    await expect
      .poll(() => technical.locator('input[name="body.new_contact"] ~ .field-error').textContent())
      .toBe('Zákazník s tímto identifikátorem neexistuje.')
    await technical.locator('input[name="body.new_contact"]').fill(newContact)
    await technical.getByRole('button', { name: 'Požádat o změnu' }).click()
    await expect.poll(() => technical.locator('[role=status]').textContent()).toContain('Alena Kadlecová')

    // Both parties get their own code; the old contact gets nothing yet.
    const [changeId, requesterCode] = await linkIn(
      portal,
      'klara.nemcova@',
      /\/contact-changes\/([^/?\s]+)\?token=([^\s"&<]+)/,
    )
    const [sameChange, newContactCode] = await linkIn(
      portal,
      'fakturace@',
      /\/contact-changes\/([^/?\s]+)\?token=([^\s"&<]+)/,
    )
    expect(sameChange).toBe(changeId)
    expect(newContactCode).not.toBe(requesterCode)
    expect(portal.catcher.messages().some((m) => m.to.includes('david.riha@'))).toBe(false)

    // The requester approves under My requests, typing the code from the e-mail.
    await admin.locator('nav').getByRole('link', { name: 'Kontakty', exact: true }).click()
    const request = admin.locator('.change-card', { hasText: 'Alena Kadlecová' })
    await request.waitFor()
    expect(await request.locator('[data-party=requester]').textContent()).toContain('čeká na schválení')
    await request.getByRole('button', { name: 'Schválit nebo odmítnout' }).click()
    await request.locator('input[name="body.token"]').fill('not-my-code')
    await request.getByRole('button', { name: 'Schválit', exact: true }).click()
    await expect
      .poll(() => request.locator('input[name="body.token"] ~ .field-error').textContent())
      .toContain('Tento kód neplatí')
    await request.locator('input[name="body.token"]').fill(requesterCode)
    await request.getByRole('button', { name: 'Schválit', exact: true }).click()
    await expect
      .poll(() => request.locator('[role=status]').textContent())
      .toContain('čeká na schválení druhým')
    expect(await request.locator('[data-party=requester]').textContent()).toContain('schválil')
    expect(await request.locator('[data-party=new_contact]').textContent()).toContain('čeká na schválení')

    // The new contact opens the link from the e-mail in a browser without a session.
    const other = await newPage(portal)
    await other.goto(`/contact-changes/${changeId}?token=${newContactCode}`)
    await expect.poll(() => heading(other).textContent()).toBe('Změna kontaktu')
    expect(await other.locator('input[name="body.token"]').inputValue()).toBe(newContactCode)
    await other.getByRole('button', { name: 'Schválit', exact: true }).click()
    await expect.poll(() => other.locator('.alert.success').textContent()).toContain('Obě strany schválily')
    expect(await other.locator('.change-card .badge').textContent()).toBe('provedeno')

    // Everyone involved is told; the service shows the new technical contact.
    await linkIn(portal, 'david.riha@', /(\S)/)
    await admin.goto(`/c/${CUSTOMER}/services/${SERVICE}`)
    await expect.poll(() => technical.textContent()).toContain('Alena Kadlecová')
    expect(await technical.textContent()).not.toContain('David Říha')
    await admin.goto(`/c/${CUSTOMER}/contacts`)
    await expect
      .poll(() =>
        admin.locator('.change-card', { hasText: 'Alena Kadlecová' }).locator('.badge').textContent(),
      )
      .toBe('provedeno')
  })
})

// ------------------------------------------------------------------------------------ sk-isp

describe('sk-isp: the account-request wizard, approved by the operator', () => {
  let portal: Portal
  let operatorKey: string
  const EMAIL = 'novy.kolega@tatra-logistika.sk'
  const CONTRACT = 'TAT-100001'
  const operator = async (method: 'GET' | 'POST', path: string, body?: object) => {
    const r = await fetch(`${portal.url}/api/v1/operator${path}`, {
      method,
      headers: {
        authorization: `Bearer ${operatorKey}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
    return { status: r.status, json: (await r.json()) as Record<string, unknown> }
  }
  /** Staff approve the request of `email` that waits for them; the link goes out by e-mail. */
  const approve = async (email: string) => {
    const queue = await operator('GET', '/account-requests?state=waiting_for_operator')
    expect(queue.status).toBe(200)
    const items = queue.json.items as { id: string; email: string; match: { contract_found: boolean } }[]
    const request = items.find((i) => i.email === email)
    expect(request?.match.contract_found).toBe(true)
    const approved = await operator('POST', `/account-requests/${request?.id}/approve`, {})
    expect(approved.status).toBe(200)
    expect(approved.json.state).toBe('link_sent')
    const [token] = await linkIn(portal, email, /\/account-request\?token=([A-Za-z0-9_-]+)/)
    return token
  }

  beforeAll(async () => {
    portal = await startPortal('sk-isp')
    operatorKey = (
      await createApiKey(
        portal.running.zona,
        { id: 'operator:e2e' },
        { name: 'e2e staff', scope: 'operator' },
      )
    ).key
  })
  afterAll(() => portal?.close())

  it('asks with a contract number and an e-mail, gets the link once staff approve, sets a password, is signed in', async () => {
    const page = await newPage(portal)
    await page.goto('/')
    await page.getByRole('link', { name: 'Nemáte konto? Požiadajte o konto' }).click()
    await expect.poll(() => heading(page).textContent()).toBe('Žiadosť o konto')
    const current = () => page.locator('.steps [aria-current=step]').textContent()
    expect(await current()).toContain('Zmluva a e-mail')

    // Empty fields are caught in the browser, each next to its field.
    await page.getByRole('button', { name: 'Odoslať žiadosť' }).click()
    expect(await page.locator('input[name="body.contract_number"] ~ .field-error').textContent()).toBe(
      'Zadajte číslo zmluvy.',
    )
    expect(await page.locator('input[name="body.email"] ~ .field-error').textContent()).toBe(
      'Zadajte e-mailovú adresu.',
    )
    // The server refuses the address and names the field; the text is in Slovak.
    await page.locator('input[name="body.contract_number"]').fill(CONTRACT)
    await page.locator('input[name="body.email"]').fill('novy.kolega-at-tatra')
    await page.getByRole('button', { name: 'Odoslať žiadosť' }).click()
    await expect
      .poll(() => page.locator('input[name="body.email"] ~ .field-error').textContent())
      .toContain('Toto nie je e-mailová adresa')
    expect(await page.locator('input[name="body.contract_number"] ~ .field-error').count()).toBe(0)

    await page.locator('input[name="body.email"]').fill(EMAIL)
    await page.getByRole('button', { name: 'Odoslať žiadosť' }).click()
    await expect.poll(current).toContain('Odkaz e-mailom')
    expect(await page.locator('.alert.success').textContent()).toContain(EMAIL)
    // The e-mail is not the contract's contact address: no mail goes out before staff approve.
    expect(portal.catcher.messages().some((m) => m.to.includes(EMAIL))).toBe(false)

    const token = await approve(EMAIL)
    await page.goto(`/account-request?token=${token}`)
    await expect.poll(current).toContain('Heslo')
    expect(await page.locator('main').textContent()).toContain('Tatra Logistika s.r.o.')
    expect(await page.locator('.facts').textContent()).toContain(CONTRACT)
    await page.locator('input[name="body.display_name"]').fill('Nový Kolega')
    await page.locator('input[name="body.password"]').fill('kratke')
    await page.locator('input[name="confirm"]').fill('kratke')
    await page.getByRole('button', { name: 'Založiť konto' }).click()
    await expect
      .poll(() => page.locator('input[name="body.password"] ~ .field-error').textContent())
      .toContain('Heslo nespĺňa pravidlá')
    await page.locator('input[name="body.password"]').fill('nove-konto-heslo-2026')
    await page.locator('input[name="confirm"]').fill('nove-konto-heslo-2026')
    await page.getByRole('button', { name: 'Založiť konto' }).click()
    await expect.poll(current).toContain('Hotovo')
    expect(await page.locator('.alert.success').textContent()).toContain('novy.kolega')

    // Signed in with an account that sees the services, and no invoices until the primary account allows.
    await page.getByRole('button', { name: 'Pokračovať do portálu' }).click()
    await page.locator('.who').waitFor()
    expect(await page.locator('.who').textContent()).toContain('Nový Kolega')
    await page.locator('.row').first().waitFor()
    expect(await page.locator('nav').textContent()).not.toContain('Faktúry')

    // The primary account switches invoices on for the new account (seed 003: "Upraviť konto").
    const primary = await newPage(portal)
    await signIn(primary, loginOf(portal, 'Milan Kováč'))
    await primary.locator('.who').waitFor()
    await primary.locator('nav').getByRole('link', { name: 'Používatelia', exact: true }).click()
    const row = primary.locator('table.grants tbody tr', { hasText: 'Nový Kolega' })
    await row.getByRole('button', { name: 'Zmeniť' }).click()
    await row.getByLabel('prístup k faktúram').check()
    await row.getByRole('button', { name: 'Uložiť' }).click()
    await expect.poll(() => row.locator('td').nth(1).textContent()).toContain('prístup k faktúram')
    await page.reload()
    await page.locator('nav').getByRole('link', { name: 'Faktúry', exact: true }).click()
    await page.locator('table.invoices tbody tr').first().waitFor()

    // The link worked once.
    const again = await newPage(portal)
    await again.goto(`/account-request?token=${token}`)
    await expect.poll(() => again.locator('[role=alert]').first().textContent()).toBeTruthy()
    expect(await again.locator('input[name="body.password"]').count()).toBe(0)
  })

  it('takes screenshots of the new screens in every language', async () => {
    // A second request, approved, whose link is only looked at (the preview does not use it up).
    const asked = await fetch(`${portal.url}/api/v1/auth/csrf`)
    const cookie = asked.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ')
    const { token: csrf } = (await asked.json()) as { token: string }
    const sent = await fetch(`${portal.url}/api/v1/account-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, cookie },
      body: JSON.stringify({ contract_number: 'TAT-100002', email: 'jana.mala@tatra-logistika.sk' }),
    })
    expect(sent.status).toBe(202)
    const token = await approve('jana.mala@tatra-logistika.sk')

    for (const lang of LANGUAGES) {
      const page = await newPage(portal, lang)
      await page.goto('/account-request')
      await page.locator('input[name="body.contract_number"]').waitFor()
      expect(await page.getAttribute('html', 'lang')).toBe(lang)
      await shoot(page, lang, 'account-request')
      // The public request is limited to a few per address; its answer is one fixed body whatever
      // the records say, so the screenshot of the next step is taken with that body served here.
      await page.route('**/api/v1/account-requests', (route) =>
        route.fulfill({
          status: 202,
          contentType: 'application/json',
          body: JSON.stringify({ status: 'accepted', detail: '' }),
        }),
      )
      await page.locator('input[name="body.contract_number"]').fill('TAT-100003')
      await page.locator('input[name="body.email"]').fill('meno@tatra-logistika.sk')
      await page.locator('form button[type=submit]').click()
      await page.locator('.alert.success').waitFor()
      await shoot(page, lang, 'account-request-sent')
      await page.goto(`/account-request?token=${token}`)
      await page.locator('input[name="body.password"], main [role=alert]').first().waitFor()
      expect(
        await page.locator('main [role=alert]').count(),
        (await page.locator('main').textContent()) ?? '',
      ).toBe(0)
      await shoot(page, lang, 'account-request-password', true)
      await page.context().close()
    }
    writeScreenshotIndex(LANGUAGES)
  })
})

// ------------------------------------------------------------------------------------ OVH screenshots

describe('OVH screens in every language', () => {
  let portal: Portal
  beforeAll(async () => {
    portal = await startPortal('ovh')
  })
  afterAll(() => portal?.close())

  it('takes screenshots of the contacts, a request waiting for the other party and the e-mail link, which then refuses it', async () => {
    const owner = await newPage(portal)
    await signIn(owner, loginOf(portal, 'Pavel Šimek'))
    await owner.locator('.who').waitFor()
    // The owner names a new technical contact of a service; it waits for both approvals.
    const requested = await owner.evaluate(
      async ([service, handle]) => {
        const { token } = (await (await fetch('/api/v1/auth/csrf')).json()) as { token: string }
        const r = await fetch(`/api/v1/services/${service}/contact-changes`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': token },
          body: JSON.stringify({ kind: 'technical', new_contact: handle }),
        })
        return r.status
      },
      ['hp-produkce-vps-002', loginOf(portal, 'David Říha')] as const,
    )
    expect(requested).toBe(201)
    const [changeId, code] = await linkIn(
      portal,
      'david.riha@',
      /\/contact-changes\/([^/?\s]+)\?token=([^\s"&<]+)/,
    )

    for (const lang of LANGUAGES) {
      await chooseLanguage(owner, lang)
      await owner.goto('/c/hosting-praha/contacts')
      await owner.locator('.change-card').first().waitFor()
      await owner.locator('table.contacts tbody tr').first().waitFor()
      expect(await owner.getAttribute('html', 'lang')).toBe(lang)
      await owner.locator('table.contacts .contact-cell[data-kind=billing] button').first().click()
      await shoot(owner, lang, 'contacts')
      await owner.goto('/c/hosting-praha/services/hp-produkce-vps-002')
      await owner.locator('section[aria-labelledby=svc-contacts] .contact-cell').first().waitFor()
      await shoot(owner, lang, 'service-contacts', true)

      const visitor = await newPage(portal, lang)
      await visitor.goto(`/contact-changes/${changeId}?token=${code}`)
      await visitor.locator('input[name="body.token"]').waitFor()
      await shoot(visitor, lang, 'contact-change-link')
      await visitor.context().close()
    }
    writeScreenshotIndex(LANGUAGES)

    // The new contact refuses from the link: the change ends and the service keeps its contact.
    const refusing = await newPage(portal, 'en')
    await refusing.goto(`/contact-changes/${changeId}?token=${code}`)
    await refusing.getByRole('button', { name: 'Refuse', exact: true }).click()
    await expect.poll(() => refusing.locator('.alert.success').textContent()).toContain('refused')
    expect(await refusing.locator('.change-card .badge').textContent()).toBe('refused')
    await chooseLanguage(owner, 'en')
    await owner.goto('/c/hosting-praha/contacts')
    const card = owner.locator('.change-card', { hasText: 'David Říha' })
    await expect.poll(() => card.locator('.badge').textContent()).toBe('refused')
    expect(await card.textContent()).toContain('Refused by David Říha')
    await owner.goto('/c/hosting-praha/services/hp-produkce-vps-002')
    const technical = owner.locator(
      'section[aria-labelledby=svc-contacts] .contact-cell[data-kind=technical]',
    )
    await expect.poll(() => technical.textContent()).toContain('Pavel Šimek')
    expect(await technical.textContent()).not.toContain('David Říha')
  })
})
