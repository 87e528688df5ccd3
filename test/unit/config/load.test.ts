// Settings that only make sense together are refused at start-up, with a message naming the key.
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../../src/config/load.js'

describe('configuration of mail and operator notifications', () => {
  it('reads the SMTP and notification settings from their environment variables', () => {
    const config = loadConfig({ SMTP_HOST: 'mail.example.com', SMTP_PORT: '465', SMTP_SECURE: 'true', SMTP_USER: 'portal', SMTP_PASSWORD: 'pw', MAIL_FROM: 'Portal <p@example.com>', OPERATOR_NOTIFICATION_EMAIL: 'ops@example.com', OPERATOR_WEBHOOK_URL: 'https://hooks.example.com/x', OPERATOR_WEBHOOK_SECRET: '0123456789abcdef', OPERATOR_WEBHOOK_TIMEOUT_MS: '2500' })
    expect(config).toMatchObject({ smtpHost: 'mail.example.com', smtpPort: 465, smtpSecure: true, smtpUser: 'portal', smtpPassword: 'pw', mailFrom: 'Portal <p@example.com>', operatorNotificationEmail: 'ops@example.com', operatorWebhookUrl: 'https://hooks.example.com/x', operatorWebhookSecret: '0123456789abcdef', operatorWebhookTimeoutMs: 2500 })
  })

  it('refuses a webhook URL without a secret to sign its deliveries', () => {
    expect(() => loadConfig({ OPERATOR_WEBHOOK_URL: 'https://hooks.example.com/x' })).toThrow(ConfigError)
    expect(() => loadConfig({ OPERATOR_WEBHOOK_URL: 'https://hooks.example.com/x' })).toThrow(/operatorWebhookSecret/)
  })

  it('refuses an operator address that is not an email and an SMTP URL of another scheme', () => {
    expect(() => loadConfig({ OPERATOR_NOTIFICATION_EMAIL: 'operators' })).toThrow(/operatorNotificationEmail.*OPERATOR_NOTIFICATION_EMAIL/)
    expect(() => loadConfig({ SMTP_URL: 'http://mail.example.com' })).toThrow(/smtpUrl/)
  })
})

describe('configuration of the gateway\'s TLS port', () => {
  it('reads the port, certificate pairs, minimum version, check interval and redirect from their environment variables', () => {
    const config = loadConfig({ GATEWAY_TLS_PORT: '8443', GATEWAY_TLS_CERTIFICATES: '/etc/tls/api/fullchain.pem:/etc/tls/api/privkey.pem, /etc/tls/shop.crt:/etc/tls/shop.key', GATEWAY_TLS_MIN_VERSION: 'TLSv1.3', GATEWAY_TLS_CHECK_MS: '60000', GATEWAY_HTTP_REDIRECT: 'true' })
    expect(config).toMatchObject({
      gatewayTlsPort: 8443,
      gatewayTlsCertificates: [{ certFile: '/etc/tls/api/fullchain.pem', keyFile: '/etc/tls/api/privkey.pem' }, { certFile: '/etc/tls/shop.crt', keyFile: '/etc/tls/shop.key' }],
      gatewayTlsMinVersion: 'TLSv1.3',
      gatewayTlsCheckMs: 60000,
      gatewayHttpRedirect: true
    })
  })

  it('serves no TLS by default, and never below TLS 1.2', () => {
    const defaults = loadConfig({})
    expect(defaults.gatewayTlsPort).toBeUndefined()
    expect(defaults).toMatchObject({ gatewayTlsCertificates: [], gatewayTlsMinVersion: 'TLSv1.2', gatewayHttpRedirect: false })
    expect(() => loadConfig({ GATEWAY_TLS_PORT: '8443', GATEWAY_TLS_CERTIFICATES: 'a.crt:a.key', GATEWAY_TLS_MIN_VERSION: 'TLSv1.1' })).toThrow(/gatewayTlsMinVersion.*GATEWAY_TLS_MIN_VERSION/)
  })

  it('refuses settings that do not make a TLS port together', () => {
    expect(() => loadConfig({ GATEWAY_TLS_PORT: '8443' })).toThrow(/gatewayTlsCertificates/)
    expect(() => loadConfig({ GATEWAY_TLS_CERTIFICATES: 'a.crt:a.key' })).toThrow(/gatewayTlsPort/)
    expect(() => loadConfig({ GATEWAY_HTTP_REDIRECT: 'true' })).toThrow(/gatewayHttpRedirect/)
    expect(() => loadConfig({ GATEWAY_PORT: '8443', GATEWAY_TLS_PORT: '8443', GATEWAY_TLS_CERTIFICATES: 'a.crt:a.key' })).toThrow(/must differ from gatewayPort/)
    for (const pairs of ['only-a-cert.pem', 'a.crt:', ':a.key']) {
      expect(() => loadConfig({ GATEWAY_TLS_PORT: '8443', GATEWAY_TLS_CERTIFICATES: pairs })).toThrow(/GATEWAY_TLS_CERTIFICATES must list certFile:keyFile pairs/)
    }
  })
})

describe('configuration of the response cache', () => {
  it('reads its settings from their environment variables, memory by default', () => {
    expect(loadConfig({})).toMatchObject({ responseCacheStore: 'memory', responseCacheMaxBytes: 67_108_864, responseCacheMaxTtlSeconds: 86_400 })
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', RESPONSE_CACHE_STORE: 'redis', RESPONSE_CACHE_MAX_BYTES: '1024', RESPONSE_CACHE_MAX_TTL_SECONDS: '600' }))
      .toMatchObject({ responseCacheStore: 'redis', responseCacheMaxBytes: 1024, responseCacheMaxTtlSeconds: 600 })
  })

  it('refuses the Redis store without Redis, and a store it does not know', () => {
    expect(() => loadConfig({ RESPONSE_CACHE_STORE: 'redis' })).toThrow(/responseCacheStore.*REDIS_URL/)
    expect(() => loadConfig({ RESPONSE_CACHE_STORE: 'disk' })).toThrow(/responseCacheStore/)
  })
})
