-- Schema 7: the county can take a notice's public page down (e.g. it shows what it should not);
-- the township pulls the county's record (one per notice, id = the notice's id; active false once
-- the page is put back) and sees it on the notice.
CREATE TABLE "page_takedown" ("id" TEXT NOT NULL PRIMARY KEY, "version" INTEGER NOT NULL, "updated_at" TEXT NOT NULL, "deleted" INTEGER NOT NULL, "township_id" TEXT, "notice_id" TEXT NOT NULL, "active" INTEGER NOT NULL, "reason" TEXT NOT NULL, "taken_down_at" TEXT NOT NULL, "put_back_at" TEXT);
CREATE INDEX "page_takedown_township_id" ON "page_takedown" ("township_id");
