-- Each API's response-cache generation: a purge bumps it, and gateways key cached responses by it.
ALTER TABLE "Api" ADD COLUMN "cacheGeneration" INTEGER NOT NULL DEFAULT 0;
