// The texts of the mails the control plane sends: plain text, one link each, no tracking.
import type { Mail } from './mailer.js'

export type PartnerRole = 'admin' | 'developer'

export const INVITATION_TTL_MS = 7 * 86400_000
export const PASSWORD_RESET_TTL_MS = 30 * 60_000
export const EMAIL_VERIFICATION_TTL_MS = 48 * 3600_000

function hours (ms: number): string {
  const value = ms / 3600_000
  return value >= 48 ? `${value / 24} days` : value >= 1 ? `${value} hours` : `${ms / 60_000} minutes`
}

const ROLE_TEXT: Record<PartnerRole, string> = {
  admin: 'an admin (apps, credentials, access requests, usage and the team)',
  developer: 'a developer (apps, credentials, access requests and usage)'
}

export function invitationMail (input: { to: string, partnerName: string, role: PartnerRole, link: string }): Mail {
  return {
    to: input.to,
    subject: `You are invited to the ${input.partnerName} partner account`,
    link: input.link,
    text: [
      `You are invited to join ${input.partnerName} in the partner portal as ${ROLE_TEXT[input.role]}.`,
      '',
      'Choose your name and password here:',
      input.link,
      '',
      `The link works once and expires in ${hours(INVITATION_TTL_MS)}. If you did not expect this invitation, ignore this mail.`
    ].join('\n')
  }
}

export function passwordResetMail (input: { to: string, link: string }): Mail {
  return {
    to: input.to,
    subject: 'Reset your partner portal password',
    link: input.link,
    text: [
      'Someone, probably you, asked to reset the password of your partner portal account.',
      '',
      'Choose a new password here:',
      input.link,
      '',
      `The link works once and expires in ${hours(PASSWORD_RESET_TTL_MS)}. If you did not ask for it, ignore this mail: your password stays as it is.`
    ].join('\n')
  }
}

export function emailVerificationMail (input: { to: string, link: string }): Mail {
  return {
    to: input.to,
    subject: 'Verify your email for the partner portal',
    link: input.link,
    text: [
      'Please confirm that this is your email address by opening this link:',
      input.link,
      '',
      `The link works once and expires in ${hours(EMAIL_VERIFICATION_TTL_MS)}.`
    ].join('\n')
  }
}
