// Partner accounts in a real browser (Debian's chromium through playwright-core) against the
// whole product, with mail through a local SMTP server: an invitation accepted through its
// link, a team invite, the email verification banner and link, and a password reset.
// Every step leaves a screenshot in test-results/ for a person to look at.
import { existsSync, mkdirSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/ports.js'
import { linksIn, startSmtpCapture, type SmtpCapture } from '../helpers/smtp-capture.js'
import { startStack, type TestStack } from '../helpers/stack.js'
import { ensurePortalBuilt } from './portal-build.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
const SCREENSHOTS = 'test-results'
const PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'a brand new passphrase'

function unique (label: string): string {
  return `${label}-${randomBytes(3).toString('hex')}`
}

describe.skipIf(!existsSync(CHROMIUM))('partner accounts in Chromium', { timeout: 120_000 }, () => {
  let stack: TestStack
  let smtp: SmtpCapture
  let browser: Browser
  const contexts: BrowserContext[] = []

  async function newPage (): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, baseURL: stack.controlUrl })
    contexts.push(context)
    const page = await context.newPage()
    page.on('dialog', dialog => { void dialog.accept() })
    return page
  }

  async function screenshot (page: Page, name: string): Promise<void> {
    await page.screenshot({ path: `${SCREENSHOTS}/e2e-accounts-${name}.png`, fullPage: true })
  }

  async function linkFor (email: string, subject: RegExp, page: string): Promise<string> {
    const mail = await smtp.waitFor(message => message.to.includes(email) && subject.test(message.subject))
    smtp.messages.splice(smtp.messages.indexOf(mail), 1)
    const link = linksIn(mail).find(candidate => candidate.includes(`/portal/${page}#token=`))
    expect(link, mail.text).toBeDefined()
    return link as string
  }

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    await ensurePortalBuilt()
    smtp = await startSmtpCapture()
    // links are built from PUBLIC_URL: the address the browser uses, so the session cookie applies to them
    const controlPort = await freePort()
    stack = await startStack({ database: 'pglite', redis: false, config: { smtpUrl: smtp.url, controlPort, publicUrl: `http://127.0.0.1:${controlPort}` } })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  })

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await stack?.close()
    await smtp?.close()
  })

  it('accepts an operator invitation through its link, invites a developer from the team page, who joins with limited rights', async () => {
    const company = unique('Umbrella')
    const partner = await stack.admin('POST', '/admin/v1/partners', { name: company })
    const ownerEmail = `${unique('owner')}@example.com`
    expect((await stack.admin('POST', `/admin/v1/partners/${partner.body.id as string}/invitations`, { email: ownerEmail })).body.delivery).toBe('sent')

    const owner = await newPage()
    const invitation = await linkFor(ownerEmail, /invited/, 'accept-invitation')
    expect(invitation.startsWith(`${stack.controlUrl}/portal/accept-invitation#token=`)).toBe(true)
    await owner.goto(invitation)
    await owner.getByRole('heading', { name: `Join ${company}` }).waitFor()
    await owner.getByText(`You are invited as admin with ${ownerEmail}`).waitFor()
    await owner.getByLabel('Your name').fill('Olivia Owner')
    await owner.getByLabel('Password').fill(PASSWORD)
    await screenshot(owner, '01-accept-invitation')
    await owner.getByRole('button', { name: `Join ${company}` }).click()
    await owner.getByRole('heading', { name: 'Apps' }).waitFor()
    // the token is gone from the address bar once used; an invited user's email counts as verified
    expect(owner.url()).not.toContain('token=')
    await expect(owner.getByText('Please verify your email.').count()).resolves.toBe(0)

    await owner.getByRole('link', { name: 'Team' }).click()
    await owner.getByRole('heading', { name: 'Team' }).waitFor()
    const developerEmail = `${unique('dev')}@example.com`
    await owner.getByLabel('Email to invite').fill(developerEmail)
    await owner.getByLabel('Role', { exact: true }).selectOption('developer')
    await owner.getByRole('button', { name: 'Send invitation' }).click()
    await owner.getByText(`Invitation sent to ${developerEmail}. The mail is on its way.`).waitFor()
    await owner.getByRole('cell', { name: developerEmail, exact: true }).waitFor()
    await screenshot(owner, '02-team-invited')

    const developer = await newPage()
    await developer.goto(await linkFor(developerEmail, /invited/, 'accept-invitation'))
    await developer.getByText(`You are invited as developer with ${developerEmail}`).waitFor()
    await developer.getByLabel('Your name').fill('Dana Developer')
    await developer.getByLabel('Password').fill(PASSWORD)
    await developer.getByRole('button', { name: `Join ${company}` }).click()
    await developer.getByRole('heading', { name: 'Apps' }).waitFor()
    await developer.getByRole('link', { name: 'Team' }).click()
    await developer.getByText(`Only admins of ${company} can invite, change or remove members.`).waitFor()
    await expect(developer.getByLabel('Email to invite').count()).resolves.toBe(0)
    await screenshot(developer, '03-team-as-developer')

    await owner.reload()
    await owner.getByLabel(`Role of ${developerEmail}`).selectOption('admin')
    await owner.getByText(`${developerEmail} is now an admin.`).waitFor()
    await owner.getByRole('button', { name: `Remove ${developerEmail}` }).click()
    await owner.getByText(`${developerEmail} was removed from the team.`).waitFor()
    // the message shows before the team list is read again: the row must then go
    await owner.locator(`tr[data-email="${developerEmail}"]`).waitFor({ state: 'detached', timeout: 5000 })
    await screenshot(owner, '04-team-member-removed')
  })

  it('shows the verification banner until the mailed link is opened, then resets a forgotten password through the pages, once', async () => {
    const page = await newPage()
    const email = `${unique('forgetful')}@example.com`
    await page.goto('/portal/signup')
    await page.getByLabel('Company name').fill(unique('Initrode'))
    await page.getByLabel('Work email').fill(email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign up' }).click()
    await page.getByRole('heading', { name: 'Apps' }).waitFor()
    await page.getByText('Please verify your email.').waitFor()
    await screenshot(page, '05-verify-banner')

    await page.goto(await linkFor(email, /Verify/, 'verify-email'))
    await page.getByText(`${email} is verified. Thank you.`).waitFor()
    await screenshot(page, '06-email-verified')
    await page.getByRole('link', { name: 'Continue to the portal' }).click()
    await page.getByRole('heading', { name: 'Apps' }).waitFor()
    await expect(page.getByText('Please verify your email.').count()).resolves.toBe(0)

    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByRole('heading', { name: 'Log in' }).waitFor()
    await page.getByRole('link', { name: 'Forgot your password?' }).click()
    await page.getByLabel('Email').fill(email)
    await page.getByRole('button', { name: 'Send the link' }).click()
    await page.getByText('If an account exists for this email, a link to reset its password is on its way.').waitFor()
    await screenshot(page, '07-forgot-password-sent')

    const reset = await linkFor(email, /Reset/, 'reset-password')
    await page.goto(reset)
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor()
    await page.getByLabel('New password').fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Set new password' }).click()
    await page.getByText('Your password is changed.').waitFor()
    await screenshot(page, '08-password-changed')
    await page.getByRole('link', { name: 'Log in' }).click()
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('heading', { name: 'Apps' }).waitFor()

    // the same link a second time
    const again = await newPage()
    await again.goto(reset)
    await again.getByLabel('New password').fill('yet another passphrase')
    await again.getByRole('button', { name: 'Set new password' }).click()
    await again.getByRole('alert').filter({ hasText: 'This link is not valid' }).waitFor()
    await again.getByRole('link', { name: 'Ask for a new link' }).waitFor()
    await screenshot(again, '09-reset-link-used')
  })
})
