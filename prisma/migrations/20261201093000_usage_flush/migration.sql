-- CreateTable
CREATE TABLE "UsageFlush" (
    "id" UUID NOT NULL,
    "flushedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "UsageFlush_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "UsageFlush_flushedAt_idx" ON "UsageFlush"("flushedAt");

