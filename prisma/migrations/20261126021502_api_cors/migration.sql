-- AlterTable
ALTER TABLE "Api" ADD COLUMN "cors" JSONB;
