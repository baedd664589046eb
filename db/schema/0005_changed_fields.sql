-- Schema 5: which columns each queued change touched, and which columns this workstation had
-- changed when a conflict was found, so "keep mine" keeps only those and takes the rest from the
-- county (a field-by-field merge). NULL: the whole row (a new row, or an entry from before).
ALTER TABLE "outbox" ADD COLUMN "fields" TEXT;
ALTER TABLE "sync_problem" ADD COLUMN "local_fields" TEXT;
