-- Each app's configured policies in one object keyed by policy name (an IP allow list first).
ALTER TABLE "App" ADD COLUMN "policies" JSONB NOT NULL DEFAULT '{}';
