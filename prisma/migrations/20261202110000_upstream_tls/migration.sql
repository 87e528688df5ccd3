-- TLS to an upstream's https:// targets: the CA bundle that verifies them, the gateway's
-- client certificate and its private key (sealed with the master key), the SNI name, and
-- the explicit opt-out of verification.
ALTER TABLE "Upstream" ADD COLUMN "tlsCaBundle" TEXT,
ADD COLUMN "tlsClientCertificate" TEXT,
ADD COLUMN "tlsClientKeyCiphertext" TEXT,
ADD COLUMN "tlsServername" TEXT,
ADD COLUMN "tlsInsecureSkipVerify" BOOLEAN NOT NULL DEFAULT false;
