-- Each API's configured policies in one object keyed by policy name; CORS moves into it.
ALTER TABLE "Api" ADD COLUMN "policies" JSONB NOT NULL DEFAULT '{}';
UPDATE "Api" SET "policies" = jsonb_build_object('cors', "cors") WHERE "cors" IS NOT NULL;
ALTER TABLE "Api" DROP COLUMN "cors";
