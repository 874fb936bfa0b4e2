/**
 * Every other preset in Chromium, in its own language: the customer's main administrator signs in,
 * finds a service in the tree and the invoices; a person without billing rights is not offered them.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_PASSWORD } from '../../src/demo/presets.ts'
import { launchBrowser, type Portal, startPortal } from './browser.ts'

interface Case {
  preset: string
  lang: string
  /** The administrator's and the person without invoices' names in the demo. */
  admin: string
  limited: string
  adminRole: string
  tree: string
  invoices: string
}

const CASES: Case[] = [
  {
    preset: 'nos-pt',
    lang: 'pt',
    admin: 'João Almeida',
    limited: 'Inês Rodrigues',
    adminRole: 'Administrador',
    tree: 'Contas e serviços',
    invoices: 'Faturas',
  },
  {
    preset: 'sk-isp',
    lang: 'sk',
    admin: 'Milan Kováč',
    limited: 'Jozef Tóth',
    adminRole: 'Hlavné konto',
    tree: 'Účty a služby',
    invoices: 'Faktúry',
  },
  {
    preset: 'tim-business',
    lang: 'it',
    admin: 'Giovanni Rossi',
    limited: 'Sara Colombo',
    adminRole: 'Rappresentante Legale',
    tree: 'Conti e servizi',
    invoices: 'Fatture',
  },
  {
    preset: 'ovh',
    lang: 'cs',
    admin: 'Pavel Šimek',
    limited: 'David Říha',
    adminRole: 'Vlastník účtu',
    tree: 'Účty a služby',
    invoices: 'Vyúčtování',
  },
]

let browser: Browser
beforeAll(async () => {
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
})

for (const c of CASES) {
  describe(`${c.preset} in Chromium`, () => {
    let portal: Portal
    beforeAll(async () => {
      portal = await startPortal(c.preset)
    })
    afterAll(() => portal?.close())

    const signIn = async (name: string): Promise<Page> => {
      const login = portal.logins.find((l) => l.name === name)?.login
      if (!login) throw new Error(`no demo person ${name} in ${c.preset}`)
      const context = await browser.newContext({
        baseURL: portal.url,
        viewport: { width: 1280, height: 860 },
      })
      const page = await context.newPage()
      page.setDefaultTimeout(15_000)
      await page.goto('/')
      await page.locator('input[name="body.login"]').fill(login)
      await page.locator('input[name="body.password"]').fill(DEMO_PASSWORD)
      await page.locator('form button[type=submit]').click()
      await page.locator('.who').waitFor()
      return page
    }

    it(`${c.admin} signs in in ${c.lang}, opens a service and sees the invoices`, async () => {
      const page = await signIn(c.admin)
      expect(await page.getAttribute('html', 'lang')).toBe(c.lang)
      await expect.poll(() => page.locator('h1').textContent()).toBe(c.tree)
      expect(await page.locator('.who').textContent()).toContain(c.adminRole)
      await page.locator('.row-account .toggle').first().click()
      const service = page.locator('.row-service a').first()
      await service.waitFor()
      const name = await service.textContent()
      await service.click()
      await expect.poll(() => page.locator('h1').textContent()).toBe(name)
      await page.locator('.facts').first().waitFor()
      await page.getByRole('link', { name: c.invoices, exact: true }).click()
      await page.locator('table.invoices tbody tr').first().waitFor()
      expect(await page.locator('table.invoices tbody tr').count()).toBeGreaterThan(0)
      await page.context().close()
    })

    it(`${c.limited} is not offered invoices`, async () => {
      const page = await signIn(c.limited)
      await expect.poll(() => page.locator('h1').textContent()).toBe(c.tree)
      await page.locator('.row').first().waitFor()
      expect(await page.locator('nav').textContent()).not.toContain(c.invoices)
      await page.context().close()
    })
  })
}
