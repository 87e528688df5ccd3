-- CreateTable
CREATE TABLE "GatewayNode" (
    "id" UUID NOT NULL,
    "hostname" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "version" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL,
    "reportedAt" TIMESTAMP(3) NOT NULL,
    "stoppedAt" TIMESTAMP(3),
    "configVersion" BIGINT NOT NULL,
    "snapshotAgeSeconds" DOUBLE PRECISION NOT NULL,
    "stats" JSONB NOT NULL,

    CONSTRAINT "GatewayNode_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "GatewayNode_reportedAt_idx" ON "GatewayNode"("reportedAt");
