-- The OpenAPI document as the operator sent it (JSON or YAML text, key order and comments
-- kept: the jsonb column reorders keys), and the route prefix its paths are served under.
ALTER TABLE "Api" ADD COLUMN "openapiSource" TEXT;
ALTER TABLE "Api" ADD COLUMN "openapiBasePath" TEXT;
