-- Schema 6: one writer per notice. A notice names the workstation (the county's device id) that
-- takes it through its lifecycle; NULL: not yet claimed (a notice from before this schema, or one
-- made before the workstation was enrolled). The county keeps each township's directory of
-- workstations (id, name, revoked) and sends it like any other row, so every workstation can name
-- a notice's owner, offline included.
ALTER TABLE "notice" ADD COLUMN "owner_device" TEXT;
CREATE TABLE "workstation" ("id" TEXT NOT NULL PRIMARY KEY, "version" INTEGER NOT NULL, "updated_at" TEXT NOT NULL, "deleted" INTEGER NOT NULL, "township_id" TEXT, "name" TEXT NOT NULL, "revoked" INTEGER NOT NULL);
CREATE INDEX "workstation_township_id" ON "workstation" ("township_id");
