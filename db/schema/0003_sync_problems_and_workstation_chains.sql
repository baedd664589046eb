-- Schema 3: sync problems kept for the clerk, and one audit chain per workstation.
CREATE TABLE "sync_problem" ("id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "kind" TEXT NOT NULL, "entity" TEXT NOT NULL, "entity_id" TEXT NOT NULL, "local_version" INTEGER, "server_version" INTEGER, "local_data" TEXT, "server_data" TEXT, "reason" TEXT NOT NULL, "created_at" TEXT NOT NULL, "resolved_at" TEXT, "resolution" TEXT);
CREATE INDEX "sync_problem_entity_id" ON "sync_problem" ("entity_id");
-- Each workstation keeps its own audit chain: events pulled from the township's other
-- workstations keep theirs. Existing events become this workstation's chain.
ALTER TABLE "audit_event" ADD COLUMN "workstation_id" TEXT NOT NULL DEFAULT '';
INSERT OR IGNORE INTO "local_setting" ("key", "value") VALUES ('workstation_id', json_quote(lower(hex(randomblob(16)))));
UPDATE "audit_event" SET "workstation_id" = (SELECT json_extract("value", '$') FROM "local_setting" WHERE "key" = 'workstation_id');
DROP INDEX "audit_event_seq";
CREATE UNIQUE INDEX "audit_event_workstation_id_seq" ON "audit_event" ("workstation_id", "seq");
