"""The check after sync, and recovery when the county server was restored from a backup (SYNC.md).

**Check after sync.** After a complete push and pull, workstation and county compare, per township
entity, the number of rows and a digest of their (id, version) pairs. Rows that are not settled
yet (queued changes, open conflicts and refusals) are left out on both sides. A difference is never
ignored: it is recorded as a ``SyncProblem`` of kind ``integrity``, reported in the ``SyncReport``,
and triggers a full re-sync (rows the county lacks or holds older are queued again, then everything
is pulled from zero); the check then runs again and the problem is closed only when both agree.

County reference data is not compared: the county's copy is the truth and is applied as pulled,
and a workstation may hold extra local reference rows (the catalogue it shipped with).

**Restore.** A restored county server carries a new epoch. SYNC.md asks the workstation to "re-push
everything the server no longer has" and suggests keeping acknowledged changes for a retention
window. We re-send the *current state* of every township row the county lacks or holds at an
older version instead, and reason as follows:

* The county keeps only the current state of each row, never its history, so the newest version
  of a row is exactly what it needs; intermediate versions would only be overwritten.
* The current rows are already on the workstation: nothing extra is stored, and nothing expires,
  so a backup older than any retention window still loses nothing. Rows this workstation pulled
  from the township's other workstations are re-sent too, so the county recovers them even if
  the workstation that made them is gone.
* The county says which rows it has (id and version per entity), so only what it lacks travels:
  each such row is queued once, with the county's version as its base, so the ordinary push rules
  apply (no special server path) and its older queued entries are folded into it.
* Rows in an open conflict or refusal are left for the clerk, as everywhere else.

Then the checkpoint goes back to zero and the workstation pulls everything again: what other
workstations re-sent arrives, and the check after sync confirms that both sides agree.

One case needs a person and cannot be decided here: if, after the restore, another workstation
changed a row *before* this one re-sent its newer copy, the two histories forked; the ordinary
base-version rule then turns it into a conflict when the versions collide, but a fork whose county
version is already higher than ours is taken as newer (as any pull would).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import peewee

from app.errors import SyncError
from app.i18n import _
from app.settings import get_local, set_local
from db.changes import _json_object_sql, json_array_sql, utc_now
from db.models import ENTITY_MODELS, Outbox, SyncProblem, SyncState
from sync.protocol import CHECK_ENTITIES, MAX_CHECK_EXCLUDED, digest_hex, row_content, row_hash

if TYPE_CHECKING:
    import requests

CHECK_KEY = "sync_check"  # local setting: {"at": ISO time, "ok": bool} of the last check
CHECK_EVERY_SECONDS = 24 * 3600  # an idle workstation still checks once a day
DISPUTED_KINDS = ("conflict", "rejected")


class EpochChanged(SyncError):
    """The county server was restored from a backup (its epoch changed)."""

    def __init__(self, epoch: str) -> None:
        super().__init__(_("县级服务器已从备份恢复，本机正在重新发送县里缺少的数据。"), details=f"new server epoch {epoch}")
        self.epoch = epoch


def new_epoch_of(response: requests.Response) -> str | None:
    """The new epoch a 409 answer names, if it is the county's "restored" refusal."""
    try:
        body = response.json()
    except ValueError:
        return None
    epoch = body.get("epoch") if isinstance(body, dict) else None
    return epoch if isinstance(epoch, str) and epoch else None


def local_database_error(exc: Exception) -> SyncError:
    """A failure to write the workstation's own database, as a message for the clerk.

    SQLite rolls a transaction back by itself when the disk is full, so the ROLLBACK that follows
    fails with "no transaction is active" and hides the cause: the whole chain is read."""
    chain, seen = [], exc
    while seen is not None and len(chain) < 5:
        chain.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__context__
    text = " <- ".join(chain)
    if "full" in text.lower():
        return SyncError(_("本机磁盘空间已满，本次同步未完成。已保存的数据完好，已接收的部分也已保存；"
                           "请清理磁盘空间后再同步，会从中断处继续。"), details=text)
    return SyncError(_("本机数据库暂时无法写入，本次同步未完成；已保存的数据不受影响，请稍后再同步。"),
                     details=text)


LOCAL_DB_ERRORS = (peewee.OperationalError, sqlite3.OperationalError)


def unsettled() -> set[tuple[str, str]]:
    """(entity, id) of township rows with queued changes or an open conflict or refusal: the
    check leaves them out on both sides until they are settled."""
    rows = set(Outbox.select(Outbox.entity, Outbox.entity_id).tuples())
    rows |= set(SyncProblem.select(SyncProblem.entity, SyncProblem.entity_id).where(
        SyncProblem.resolved_at.is_null() & SyncProblem.kind.in_(DISPUTED_KINDS)).tuples())
    return {(e, i) for e, i in rows if e in CHECK_ENTITIES}


def check_fields() -> dict[str, list[str]]:
    """The columns of each compared entity whose values enter the content digest."""
    return {e: json_array_sql(ENTITY_MODELS[e])[0] for e in CHECK_ENTITIES if e in ENTITY_MODELS}


def local_rows(db, township_id: str, entity: str):
    """(id, version, content digest share) of this township's rows of ``entity`` here, streamed."""
    model = ENTITY_MODELS.get(entity)
    if model is None:
        return
    _columns, values = json_array_sql(model)
    loads = json.loads
    cursor = db.execute_sql(f'SELECT "id", "version", {values} FROM "{model._meta.table_name}" '
                            'WHERE "township_id" = ?', (township_id,))
    for row_id, version, content in cursor:
        yield row_id, version, row_hash(row_id, version, row_content(loads(content)))


def local_digests(db, township_id: str, skip: set[tuple[str, str]]) -> dict[str, dict]:
    """Per entity: count and digest of this township's rows here, without ``skip``. Streams rows."""
    out = {}
    for entity in CHECK_ENTITIES:
        count = value = 0
        for row_id, _version, share in local_rows(db, township_id, entity):
            if (entity, row_id) in skip:
                continue
            count += 1
            value ^= share
        out[entity] = {"count": count, "digest": digest_hex(value)}
    return out


def requeue_rows_the_county_lacks(ctx, entity: str, county_rows: list) -> int:
    """Queue the current state of each township row of ``entity`` that the county lacks or holds
    at an older version (``county_rows``: its [id, version] pairs), based on the county's version;
    older queued entries of those rows are folded into the new one. Rows in an open conflict or
    refusal are left for the clerk. Returns how many rows were queued. One write transaction."""
    model = ENTITY_MODELS[entity]
    table = model._meta.table_name
    township_id = get_local("township_id")
    county_version = 'SELECT s."version" FROM "temp"."gk_county_rows" AS s WHERE s."id" = t."id"'
    where = (f'WHERE t."township_id" = ? AND t."version" > coalesce(({county_version}), 0) '
             'AND t."id" NOT IN (SELECT "entity_id" FROM "sync_problem" WHERE "resolved_at" IS NULL '
             "AND \"kind\" IN ('conflict', 'rejected'))")
    with ctx.write():
        conn = ctx.db.connection()
        conn.execute('CREATE TEMP TABLE IF NOT EXISTS "gk_county_rows" ("id" TEXT PRIMARY KEY, "version" INTEGER)')
        conn.execute('DELETE FROM "temp"."gk_county_rows"')
        conn.executemany('INSERT OR REPLACE INTO "temp"."gk_county_rows" VALUES (?, ?)',
                         ((str(r[0]), int(r[1])) for r in county_rows))
        conn.execute(f'DELETE FROM "outbox" WHERE "entity" = ? AND "entity_id" IN '
                     f'(SELECT t."id" FROM "{table}" AS t {where})', (entity, township_id))
        cursor = conn.execute(
            'INSERT INTO "outbox" ("entity", "entity_id", "version", "base_version", "payload", "created_at") '
            f'SELECT ?, t."id", t."version", ({county_version}), {_json_object_sql(model)}, ? '
            f'FROM "{table}" AS t {where} ORDER BY t.rowid', (entity, utc_now(), township_id))
        queued = cursor.rowcount
        conn.execute('DELETE FROM "temp"."gk_county_rows"')
    return queued


def take_county_copies(ctx, entity: str, county_rows: list) -> int:
    """Rows of ``entity`` the county holds at the same version as this workstation but with other
    content (two histories that forked: a restored copy, a rival publish): the county's copy is
    what every other workstation and the public page have, so this workstation takes it. Its
    own copy is kept in a problem record that says what happened (and, for a notice posted from
    here, which printout to take down). Rows not settled yet are left for the clerk. The local
    row is marked version 0 here; the full pull that follows brings the county's copy. Returns
    how many rows give way."""
    from db.changes import payload_of
    from sync.conflicts import replaced_reason

    theirs = {r[0]: (r[1], r[2]) for r in county_rows if len(r) >= 3}
    unsure = unsettled()
    split = [row_id for row_id, version, share in local_rows(ctx.db, get_local("township_id"), entity)
             if row_id in theirs and theirs[row_id][0] == version and theirs[row_id][1] != digest_hex(share)
             and (entity, row_id) not in unsure]
    if not split:
        return 0
    model = ENTITY_MODELS[entity]
    with ctx.write():
        for row_id in split:
            row = model.get_by_id(row_id)
            local = payload_of(row)
            SyncProblem.create(kind="replaced", entity=entity, entity_id=row_id, local_version=row.version,
                               local_data=local, server_version=row.version,
                               reason=replaced_reason(entity, local), created_at=utc_now())
            model.update(version=0).where(model.id == row_id).execute()  # no outbox entry: not a change of ours
    return len(split)


class IntegrityMixin:
    """The check after sync and the recovery from a restore, as part of :class:`SyncClient`."""

    _ctx: object
    _request: Callable
    _state: Callable
    _push: Callable
    _pull: Callable

    # ------------------------------------------------------------------ check after sync
    def _check_due(self, changed: bool) -> bool:
        """After a sync that moved anything, after a failed check, and otherwise once a day."""
        if changed:
            return True
        last = get_local(CHECK_KEY)
        if not isinstance(last, dict) or not last.get("ok"):
            return True
        from datetime import datetime

        try:
            at = datetime.fromisoformat(str(last["at"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return True
        return (self._ctx.clock.now() - at).total_seconds() >= CHECK_EVERY_SECONDS

    def _compare(self, report, cancel, *, pull_first: bool = True) -> tuple[dict, list[str]] | None:
        """Ask the county for its counts and digests and compare them with ours; returns (local
        figures, entities that differ), or None when no check was possible this time (too many
        unsettled rows, or other workstations kept pushing while we pulled)."""
        for _attempt in range(3):
            state = self._state()
            township_id = get_local("township_id")
            with self._ctx.db.atomic():  # one read snapshot for the left-out rows and the digests
                skip = unsettled()
                if len(skip) > MAX_CHECK_EXCLUDED:
                    return None
                checkpoint = SyncState.get_by_id(1).last_pulled_seq
                # the county works out its figures while this workstation works out its own
                with ThreadPoolExecutor(1, thread_name_prefix="gongkai-check") as pool:
                    asked = pool.submit(self._check_call, state, sorted(skip), [])
                    local = local_digests(self._ctx.db, township_id, skip)
                    answer = asked.result()
            if pull_first and answer["as_of"] > checkpoint:
                self._pull(state, report, cancel)  # another workstation pushed meanwhile
                continue
            differ = [e for e in CHECK_ENTITIES if local[e] != answer["entities"].get(e)]
            return {"local": local, "county": answer["entities"]}, differ
        return None

    def _check_call(self, state: SyncState, exclude: list, detail: list[str]) -> dict:
        answer = self._request("POST", f"{state.server_url}/api/v1/sync/check", token=state.token,
                               body={"exclude": [list(p) for p in exclude], "detail": detail,
                                     "fields": check_fields()}).json()
        if state.server_epoch and answer.get("epoch") and answer["epoch"] != state.server_epoch:
            raise EpochChanged(answer["epoch"])
        return answer

    def _check_after_sync(self, report, cancel) -> tuple[bool, tuple[str, ...], bool]:
        """Run the check; on a difference record it, re-sync fully and check again.
        Returns (checked, entities that differed, repaired)."""
        compared = self._compare(report, cancel)
        if compared is None:
            return False, (), False
        figures, differ = compared
        if not differ:
            self._remember_check(True)
            return True, (), False
        problems = []
        with self._ctx.write():
            for entity in differ:
                mine, theirs = figures["local"][entity], figures["county"].get(entity) or {}
                # one open record per entity (the problem list shows one record per entity_id),
                # refreshed while the difference lasts; the figures of both sides are its data
                reason = _("同步后核对不一致：本机 {mine} 条，县里 {theirs} 条（或内容版本不同），已自动重新完整同步。").format(
                    mine=mine["count"], theirs=theirs.get("count", "?"))
                known = SyncProblem.get_or_none((SyncProblem.kind == "integrity") & SyncProblem.resolved_at.is_null()
                                                & (SyncProblem.entity_id == f"check:{entity}"))
                if known is None:
                    known = SyncProblem.create(kind="integrity", entity=entity, entity_id=f"check:{entity}",
                                               local_data=mine, server_data=theirs, reason=reason, created_at=utc_now())
                else:
                    SyncProblem.update(local_data=mine, server_data=theirs, reason=reason).where(
                        SyncProblem.id == known.id).execute()
                problems.append(known.id)
        self._resync(differ, report, cancel)
        again = self._compare(report, cancel)
        repaired = again is not None and not again[1]
        with self._ctx.write():
            if repaired:
                SyncProblem.update(resolved_at=utc_now(), resolution="repaired").where(
                    SyncProblem.id.in_(problems)).execute()
            else:
                SyncState.update(last_error=_("同步后核对仍不一致，请联系县里检查数据。"), last_error_at=utc_now()).where(
                    SyncState.id == 1).execute()
        self._remember_check(repaired)
        return True, tuple(differ), repaired

    def _remember_check(self, ok: bool) -> None:
        with self._ctx.write():
            set_local(CHECK_KEY, {"at": self._ctx.clock.now().isoformat(), "ok": ok})

    def _resync(self, entities: list[str], report, cancel) -> None:
        """A full re-sync: queue what the county lacks, then push, and pull from zero."""
        state = self._state()
        self._resend_missing(state, entities)
        with self._ctx.write():
            SyncState.update(last_pulled_seq=0).where(SyncState.id == 1).execute()
        state = self._state()
        self._push(state, report, cancel)
        self._pull(state, report, cancel, own=True)

    def _resend_missing(self, state: SyncState, entities) -> int:
        """Queue the rows of ``entities`` the county lacks or holds older, and give way where the
        county holds the same version with other content; one entity at a time, so only one
        entity's id list is held in memory."""
        queued = 0
        for entity in entities:
            answer = self._check_call(state, [], [entity])
            county_rows = answer["rows"].get(entity, [])
            take_county_copies(self._ctx, entity, county_rows)
            queued += requeue_rows_the_county_lacks(self._ctx, entity, county_rows)
        return queued

    # ------------------------------------------------------------------ restore
    def _recover_from_restore(self, epoch: str, report, cancel) -> int:
        """The county was restored from a backup: queue every township row it lacks or holds at
        an older version, then restart the pull from zero under the new epoch. Interrupted, it is
        simply done again on the next sync (the epoch is recorded last)."""
        state = self._state()
        probe = SyncState(**{**state.__data__, "server_epoch": epoch})
        answer = self._check_call(probe, [], [])
        township_id = get_local("township_id")
        local = local_digests(self._ctx.db, township_id, set())
        pending = {e for (e,) in Outbox.select(Outbox.entity).distinct().tuples()}
        entities = [e for e in CHECK_ENTITIES if local[e] != answer["entities"].get(e) or e in pending]
        queued = self._resend_missing(probe, entities)
        with self._ctx.write():
            SyncState.update(server_epoch=epoch, last_pulled_seq=0).where(SyncState.id == 1).execute()
        report(0, queued, _("县级服务器已从备份恢复：将重新发送 {n} 项").format(n=queued))
        return queued

