-- Schema 2: sync change tracking — the transactional outbox and the sync checkpoint.
-- The outbox sequence never goes back, even when acknowledged entries are removed (AUTOINCREMENT):
-- the county checks a device's change sequence for gaps.
CREATE TABLE "outbox" ("seq" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "entity" TEXT NOT NULL, "entity_id" TEXT NOT NULL, "version" INTEGER NOT NULL, "base_version" INTEGER, "payload" TEXT NOT NULL, "created_at" TEXT NOT NULL);
CREATE TABLE "sync_state" ("id" INTEGER NOT NULL PRIMARY KEY, "device_id" TEXT NOT NULL, "token" TEXT, "server_url" TEXT, "last_pulled_seq" INTEGER NOT NULL, "server_epoch" TEXT, "last_success_at" TEXT, "last_error" TEXT, "last_error_at" TEXT);
