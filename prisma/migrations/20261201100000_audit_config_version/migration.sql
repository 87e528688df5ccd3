-- The configuration version each audited change produced: gateways read the changes since
-- their snapshot's version and reload only what they touched.
ALTER TABLE "AuditLog" ADD COLUMN "configVersion" BIGINT;

-- CreateIndex
CREATE INDEX "AuditLog_configVersion_idx" ON "AuditLog"("configVersion");
