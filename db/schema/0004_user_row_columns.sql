-- Schema 4: accounts carry the row columns every other entity has (version, updated_at, a
-- tombstone and the township). Accounts stay on the workstation: password hashes are never synced.
ALTER TABLE "user" ADD COLUMN "version" INTEGER NOT NULL DEFAULT 1;
ALTER TABLE "user" ADD COLUMN "updated_at" TEXT NOT NULL DEFAULT '';
UPDATE "user" SET "updated_at" = "created_at";
ALTER TABLE "user" ADD COLUMN "deleted" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "user" ADD COLUMN "township_id" TEXT;
UPDATE "user" SET "township_id" = (SELECT json_extract("value", '$') FROM "local_setting" WHERE "key" = 'township_id');
CREATE INDEX "user_township_id" ON "user" ("township_id");
