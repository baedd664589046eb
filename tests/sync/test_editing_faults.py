"""SYNC.md fault tests about clerks editing, against the real server in a subprocess.

13. A clerk edits a roster row while the push carrying its previous edit is in flight → both edits
    reach the server, in order.
14. One workstation deletes a row that another edited → a conflict shown to a person, nothing lost.
15. The same clerk signed in on two workstations of one township edits different notices → both
    arrive; the same notice → conflict.
"""

from __future__ import annotations

import threading

import pytest

from .township import NoKeepAlive, opened, subsidy_notice, sync_client, township


@pytest.fixture(scope="module")
def town(tmp_path_factory, _demo_template):
    with township(tmp_path_factory, _demo_template, stations=2, claimed=False) as t:
        yield t


def _row_input(view, **changes):
    from app.rows import RowInput

    fields = {f: getattr(view, f) for f in ("name", "id_number", "group_name", "quantity", "rate", "amount_fen",
                                            "bank_account", "phone", "remark", "extra")}
    return RowInput(**(fields | changes))


def _draft_with_rows():
    """The demo's imported draft (a village's subsidy roster): the draft with the most rows."""
    from peewee import fn

    from db.models import Notice, RosterRow

    return (Notice.select().join(RosterRow).where(Notice.status == "draft")
            .group_by(Notice.id).order_by(fn.COUNT(RosterRow.id).desc()).first())


class PushLog(NoKeepAlive):
    """Records what each push sent and what the county answered; ``hook(when)`` runs around the
    first push request ('sent': after the server has answered, before the client sees the answer;
    'before': after the client read its queue, before the request leaves)."""

    def __init__(self, hook=None, when: str = "sent") -> None:
        super().__init__()
        self.hook, self.when = hook, when
        self.accepted: list[tuple[str, int]] = []
        self.conflicts: list[str] = []

    def request(self, method, url, **kwargs):
        hook = self.hook if url.endswith("/sync/push") else None
        if hook is not None:
            self.hook = None
            if self.when == "before":
                hook()
        response = super().request(method, url, **kwargs)
        if url.endswith("/sync/push") and response.ok:
            answer = response.json()
            self.accepted += [(a["id"], a["version"]) for a in answer["accepted"]]
            self.conflicts += [c["id"] for c in answer["conflicts"]]
        if hook is not None and self.when == "sent":
            hook()
        return response


def _in_another_thread(work) -> None:
    """Run ``work`` on another thread (as the GUI thread edits while sync runs on a worker)."""
    from db.models import database

    failure = []

    def run():
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failure.append(exc)
        finally:
            database.close()  # this thread's connection

    t = threading.Thread(target=run)
    t.start()
    t.join(30)
    assert not t.is_alive() and not failure, failure


# ---------------------------------------------------------------------------------------- 13
@pytest.mark.parametrize("when", ["before", "sent"])
def test_an_edit_made_while_the_previous_edit_of_its_row_is_pushed_reaches_the_server_next(town, tmp_path, when):
    from app.notices import NoticeService
    from db.models import Outbox, RosterRow, SyncProblem

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        notices = NoticeService(ctx)
        row = notices.rows(_draft_with_rows().id, 0, 1)[0]
        start = RosterRow.get_by_id(row.id).version
        notices.update_row(row.id, clerk, _row_input(row, amount_fen=111_11))

        def second_edit():
            notices.update_row(row.id, clerk, _row_input(row, amount_fen=222_22))

        log = PushLog(lambda: _in_another_thread(second_edit), when)
        report = sync_client(ctx, log).sync()
        assert log.hook is None, "the edit was not made during the push"
        assert report.conflicts == 0 and SyncProblem.select().count() == 0
        assert Outbox.select().count() == 0
        local = RosterRow.get_by_id(row.id)
        assert (local.version, local.amount_fen) == (start + 2, 222_22)
    # both edits reached the county, the first one first; the county holds the second
    mine = [v for rid, v in log.accepted if rid == row.id]
    assert mine == [start + 1, start + 2]
    version, data = town.server_row(row.id)
    assert (version, data["amount_fen"]) == (start + 2, 222_22)
    with opened(ws1) as (ctx, _clerk):
        sync_client(ctx).sync()
        other = RosterRow.get_by_id(row.id)
        assert (other.version, other.amount_fen) == (start + 2, 222_22)


def test_an_edit_made_while_the_answer_is_lost_is_still_sent_on_top_of_the_first(town, tmp_path):
    """13 with a fault: the county applies the first edit, its answer is lost, the clerk edits
    again, the retry gets the stored result; the second edit builds on the first."""
    from app.notices import NoticeService
    from db.models import Outbox, RosterRow, SyncProblem

    ws0, _ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        notices = NoticeService(ctx)
        row = notices.rows(_draft_with_rows().id, 0, 1)[0]
        start = RosterRow.get_by_id(row.id).version
        notices.update_row(row.id, clerk, _row_input(row, remark="第一次修改"))

        def edit_when_lost():
            town.proxy.faults = ["lose_answer"]  # the next connection: the push

        def second_edit():
            notices.update_row(row.id, clerk, _row_input(row, remark="第二次修改"))

        class EditAfterLoss(PushLog):
            attempts = 0

            def request(self, method, url, **kwargs):
                if url.endswith("/sync/push"):
                    self.attempts += 1
                    if self.attempts == 2:  # the retry of the batch whose answer was lost
                        _in_another_thread(second_edit)
                return super().request(method, url, **kwargs)

        log = EditAfterLoss(edit_when_lost, "before")
        report = sync_client(ctx, log).sync()
        assert log.attempts >= 3 and town.proxy.faults == []
        assert report.conflicts == 0 and SyncProblem.select().count() == 0 and Outbox.select().count() == 0
    version, data = town.server_row(row.id)
    assert (version, data["remark"]) == (start + 2, "第二次修改")


# ---------------------------------------------------------------------------------------- 14
@pytest.mark.parametrize("first", ["delete", "edit"])
def test_a_row_deleted_on_one_workstation_and_edited_on_another_is_a_conflict_and_nothing_is_lost(
        town, tmp_path, first):
    from app.notices import NoticeService
    from db.models import RosterRow
    from sync.client import ConflictService

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, _clerk):
        draft = _draft_with_rows().id
        row = NoticeService(ctx).rows(draft, 5, 1)[0]

    def delete(station):
        with opened(station) as (ctx, clerk):
            NoticeService(ctx).delete_row(row.id, clerk)
            return sync_client(ctx).sync()

    def edit(station):
        with opened(station) as (ctx, clerk):
            NoticeService(ctx).update_row(row.id, clerk, _row_input(row, amount_fen=98_765, remark="核实后改"))
            return sync_client(ctx).sync()

    if first == "delete":
        assert delete(ws0).conflicts == 0
        late, loser = edit(ws1), ws1
    else:
        assert edit(ws1).conflicts == 0
        late, loser = delete(ws0), ws0
    assert late.conflicts == 1
    version, server = town.server_row(row.id)
    assert server["deleted"] is (first == "delete")
    with opened(loser) as (ctx, clerk):
        [problem] = ConflictService(ctx).open_problems()  # shown to the clerk, both versions in it
        assert (problem.kind, problem.entity, problem.entity_id) == ("conflict", "roster_row", row.id)
        assert {problem.local_data["deleted"], problem.server_data["deleted"]} == {True, False}
        edited = problem.server_data if first == "edit" else problem.local_data
        assert (edited["amount_fen"], edited["remark"]) == (98_765, "核实后改")
        # the row is not touched until the clerk decides: it still holds the clerk's own version
        local = RosterRow.get_by_id(row.id)
        assert local.deleted is (first == "edit")
        # another sync neither loses nor repeats the problem
        again = sync_client(ctx).sync()
        assert again.conflicts == 0 and len(ConflictService(ctx).open_problems()) == 1
        # the server's copy still has every field of the row (a tombstone keeps its data)
        assert server["name"] == row.name and server["id_number"] == row.id_number
        ConflictService(ctx).take_theirs(problem.id, clerk)
        assert RosterRow.get_by_id(row.id).deleted is server["deleted"]
        assert sync_client(ctx).sync().conflicts == 0
    assert town.server_row(row.id)[0] == version


# ---------------------------------------------------------------------------------------- 15
def test_the_same_clerk_on_two_workstations_different_notices_arrive_the_same_notice_conflicts(town, tmp_path):
    from app.notices import NoticeService
    from db.models import Notice, Outbox
    from sync.client import ConflictService

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, _clerk):
        drafts = [n.id for n in Notice.select().where(Notice.status == "draft").order_by(Notice.id)]
    assert len(drafts) >= 2
    first, second = drafts[:2]

    def edit(station, notice_id, title):
        with opened(station) as (ctx, clerk):
            NoticeService(ctx).update_header(notice_id, clerk, title=title)
            report = sync_client(ctx).sync()
            return report, [p.entity_id for p in ConflictService(ctx).open_problems()]

    # different notices: both arrive, no conflict, and each workstation gets the other's
    assert edit(ws0, first, "甲机改的第一份")[0].conflicts == 0
    assert edit(ws1, second, "乙机改的第二份")[0].conflicts == 0
    assert town.server_row(first)[1]["title"] == "甲机改的第一份"
    assert town.server_row(second)[1]["title"] == "乙机改的第二份"
    for station in (ws0, ws1):
        with opened(station) as (ctx, _clerk):
            sync_client(ctx).sync()
            assert [Notice.get_by_id(n).title for n in (first, second)] == ["甲机改的第一份", "乙机改的第二份"]
            assert Outbox.select().count() == 0
    # the same notice: the later one is a conflict for the clerk, the county keeps the earlier
    assert edit(ws0, first, "甲机再改")[0].conflicts == 0
    report, problems = edit(ws1, first, "乙机也改")
    assert report.conflicts == 1 and problems == [first]
    assert town.server_row(first)[1]["title"] == "甲机再改"
    with opened(ws1) as (ctx, _clerk):
        assert Notice.get_by_id(first).title == "乙机也改"  # the clerk's version, kept until decided


# ---------------------------------------------------------------------------------------- held
def test_edits_of_a_row_in_an_open_conflict_wait_for_the_clerk(town, tmp_path):
    """A row whose edit was refused as a conflict may be edited again before the clerk decides;
    those edits are held (they build on the refused version), not pushed over the other
    workstation's version, and "keep mine" then sends the newest one."""
    from app.notices import NoticeService
    from db.models import Notice
    from sync.client import ConflictService

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        draft = _draft_with_rows().id
        NoticeService(ctx).update_header(draft, clerk, title="甲机一改")
        NoticeService(ctx).update_header(draft, clerk, title="甲机二改")
        sync_client(ctx).sync()
    with opened(ws1) as (ctx, clerk):
        notices = NoticeService(ctx)
        notices.update_header(draft, clerk, title="乙机一改")
        report = sync_client(ctx).sync()
        assert report.conflicts == 1
        # edited twice more while the conflict is open: the versions now match the county's
        notices.update_header(draft, clerk, title="乙机二改")
        notices.update_header(draft, clerk, title="乙机三改")
        report = sync_client(ctx).sync()
        assert (report.conflicts, report.held) == (0, 2)  # the audit events of the edits did go
        assert town.server_row(draft)[1]["title"] == "甲机二改"  # not silently overwritten
        [problem] = ConflictService(ctx).open_problems()
        ConflictService(ctx).keep_mine(problem.id, clerk)
        report = sync_client(ctx).sync()
        assert report.conflicts == 0 and report.held == 0
        assert Notice.get_by_id(draft).title == "乙机三改"
    assert town.server_row(draft)[1]["title"] == "乙机三改"


def test_two_versions_of_a_row_in_one_batch_after_a_conflict_are_both_conflicts(town, tmp_path):
    """Server side of the rule above: in one batch, a change that builds on a refused change of
    the same row is refused too, even when its base version equals the county's."""
    from app.notices import NoticeService
    from db.models import Notice, SyncState
    from sync.client import ConflictService

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        draft = _draft_with_rows().id
        NoticeService(ctx).update_header(draft, clerk, title="甲机改")
        sync_client(ctx).sync()
        county_version = Notice.get_by_id(draft).version
    with opened(ws1) as (ctx, clerk):
        NoticeService(ctx).update_header(draft, clerk, title="乙机一改")
        NoticeService(ctx).update_header(draft, clerk, title="乙机二改")  # base = the county's version
        assert Notice.get_by_id(draft).version == county_version + 1
        log = PushLog()
        report = sync_client(ctx, log).sync()
        assert log.conflicts.count(draft) == 2 and (draft, county_version + 1) not in log.accepted, (log.conflicts, log.accepted, county_version)
        assert report.conflicts == 1 and len(ConflictService(ctx).open_problems()) == 1  # one per row
        assert SyncState.get_by_id(1).last_error is None
    assert town.server_row(draft)[1]["title"] == "甲机改"


# ------------------------------------------------------------------- published since (SYNC.md 2)
def test_a_row_added_offline_to_a_notice_published_since_is_refused_in_the_clerks_words(town, tmp_path):
    """Both workstations have a draft; the first takes it through review and publishes it; the
    second, offline, adds a household to its copy and then syncs. The county keeps the roster as
    published, and the clerk reads why in Chinese, with the notice's title and the way out."""
    import random

    from app.demo import soil_subsidy_rows
    from app.notices import NoticeService
    from db.models import RosterRow, SyncProblem, User

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        nid = subsidy_notice(ctx, clerk, "两台电脑都有的补贴名单", rows=5, seed=7, claimed=False)
        assert sync_client(ctx).sync().conflicts == 0
    with opened(ws1) as (ctx, _clerk):
        sync_client(ctx).sync()
    with opened(ws0) as (ctx, clerk):
        notices = NoticeService(ctx)
        reviewer = User.get(User.username == "wangqiang").id
        notices.submit(nid, clerk)
        notices.approve(nid, reviewer)
        notices.publish(nid, clerk)
        assert sync_client(ctx).sync().rejected == 0
    with opened(ws1) as (ctx, clerk):  # offline until now
        NoticeService(ctx).add_rows(nid, clerk, soil_subsidy_rows(random.Random(8), 1))
        report = sync_client(ctx).sync()
        assert report.rejected == 1
        [problem] = SyncProblem.select().where(SyncProblem.resolved_at.is_null())
        assert problem.kind == "replaced" and "两台电脑都有的补贴名单" in problem.reason
        assert "已经发布" in problem.reason and "更正公示" in problem.reason
        assert not any(c.isascii() and c.isalpha() for c in problem.reason)  # no English left
        # the county's roster as published is this workstation's too; its own row is kept aside
        assert RosterRow.select().where(RosterRow.notice == nid).count() == 5
        assert problem.local_data["notice_id"] == nid and problem.server_data is None
        assert report.integrity == ()
    conn = town.server()
    try:
        [(count,)] = conn.execute("SELECT COUNT(*) FROM sync_row WHERE entity = 'roster_row' AND "
                                  "json_extract(data, '$.notice_id') = ?", (nid,)).fetchall()
    finally:
        conn.close()
    assert count == 5
    with opened(ws0) as (ctx, _clerk):
        sync_client(ctx).sync()
        assert RosterRow.select().where(RosterRow.notice == nid).count() == 5


def _roster_file(ctx, nid, clerk, path):
    """The internal roster (清册) of a notice as exported: the names, accounts and amounts the
    一卡通 payment file is made from once the notice closes."""
    from python_calamine import CalamineWorkbook

    from app.exports import ExportService

    ExportService(ctx).export(nid, "internal", path, clerk)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    return [r for r in rows if any(str(c).strip() for c in r)]


def test_an_offline_edit_of_a_row_published_since_gives_way_to_the_county_and_both_pay_the_same(town, tmp_path):
    """The second workstation, offline, changes a household's amount in a notice the first has
    published since. The county refuses it; the second workstation takes the posted amount at
    once (its own kept in the record, acknowledged by the clerk), and both workstations' rosters,
    which the 一卡通 payment file is made from, are the posted notice's."""
    from decimal import Decimal

    from app.integrity import verify_database
    from app.notices import NoticeService
    from db.models import SyncProblem, User
    from sync.client import ConflictService

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        nid = subsidy_notice(ctx, clerk, "金额被离线改过的名单", rows=6, seed=11, claimed=False)
        sync_client(ctx).sync()
    with opened(ws1) as (ctx, _clerk):
        sync_client(ctx).sync()
    with opened(ws0) as (ctx, clerk):
        notices = NoticeService(ctx)
        notices.submit(nid, clerk)
        notices.approve(nid, User.get(User.username == "wangqiang").id)
        notices.publish(nid, clerk)
        sync_client(ctx).sync()
        posted = _roster_file(ctx, nid, clerk, tmp_path / "roster0.xlsx")
    with opened(ws1) as (ctx, clerk):  # offline until now: its copy is still a draft
        notices = NoticeService(ctx)
        first = notices.rows(nid)[0]
        notices.update_row(first.id, clerk, _row_input(first, quantity=Decimal("1111.11"), amount_fen=11111100))
        report = sync_client(ctx).sync()
        assert report.rejected == 1
        assert notices.rows(nid)[0].amount_fen == first.amount_fen  # the posted amount, not 11,111.00
        [problem] = SyncProblem.select().where(SyncProblem.resolved_at.is_null())
        assert problem.kind == "replaced" and problem.local_data["amount_fen"] == 11111100
        assert problem.server_data["amount_fen"] == first.amount_fen
        assert verify_database(ctx).ok, verify_database(ctx).first_problem
        assert _roster_file(ctx, nid, clerk, tmp_path / "roster1.xlsx") == posted
        ConflictService(ctx).acknowledge(problem.id, clerk)
        assert not SyncProblem.select().where(SyncProblem.resolved_at.is_null()).exists()
        assert sync_client(ctx).sync(check=True).integrity == ()


# ------------------------------------------------------------------- keep mine, field by field
def test_keep_mine_keeps_the_fields_this_workstation_changed_and_the_others_edits_of_other_fields(town, tmp_path):
    """One workstation corrects a draft's title, the other, offline, its body. The second clerk
    keeps their version: the county ends with both corrections, not with the second's old title."""
    from app.notices import NoticeService
    from db.models import Notice
    from sync.client import ConflictService

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, _clerk):
        draft = _draft_with_rows().id
        original = Notice.get_by_id(draft)
    with opened(ws0) as (ctx, clerk):
        NoticeService(ctx).update_header(draft, clerk, title="甲改的标题")
        sync_client(ctx).sync()
    with opened(ws1) as (ctx, clerk):
        NoticeService(ctx).update_header(draft, clerk, body="乙改的正文")
        assert sync_client(ctx).sync().conflicts == 1
        conflicts = ConflictService(ctx)
        [problem] = conflicts.open_problems()
        assert conflicts.kept_fields(problem.id) == ["body"]
        conflicts.keep_mine(problem.id, clerk)
        mine = Notice.get_by_id(draft)
        assert (mine.title, mine.body) == ("甲改的标题", "乙改的正文")
        assert sync_client(ctx).sync().conflicts == 0
    county = town.server_row(draft)[1]
    assert (county["title"], county["body"]) == ("甲改的标题", "乙改的正文")
    assert county["salutation"] == original.salutation
    with opened(ws0) as (ctx, _clerk):
        sync_client(ctx).sync()
        theirs = Notice.get_by_id(draft)
        assert (theirs.title, theirs.body) == ("甲改的标题", "乙改的正文")
