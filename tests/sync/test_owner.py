"""One writer per notice, against the real server in a subprocess: the workstation that made a
notice takes it through its lifecycle, offline included; another workstation sees it read-only
with the owner's name, and what it forces through anyway is refused by the county and replaced by
the county's copy; the county hands a notice over, and both workstations follow.
"""

from __future__ import annotations

import pytest

from .township import device_id, opened, subsidy_notice, sync_client, township


@pytest.fixture(scope="module")
def town(tmp_path_factory, _demo_today_template):
    with township(tmp_path_factory, _demo_today_template, stations=2) as t:
        yield t


def _problems():
    from db.models import SyncProblem

    return list(SyncProblem.select().where(SyncProblem.resolved_at.is_null()))


def test_another_workstation_sees_the_notice_read_only_with_its_owners_name(town, tmp_path):
    """What the demo workstation made (before it was enrolled, too) is its own; the second
    workstation may look at it but not edit, submit, approve, publish, withdraw, correct or close
    it — each refusal names the owner — while the owner does all of it offline."""
    from app.errors import PermissionDenied
    from app.notices import NoticeService
    from app.rows import RowInput
    from db.models import Notice, User

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        nid = subsidy_notice(ctx, clerk, "一号机办理的名单", rows=5, seed=11)
        demo_published = Notice.get(Notice.status == "published").id  # made before enrolment
        assert Notice.get_by_id(nid).owner_device == Notice.get_by_id(demo_published).owner_device == device_id(ws0)
        sync_client(ctx).sync()
    with opened(ws1) as (ctx, clerk):
        sync_client(ctx).sync()
        notices = NoticeService(ctx)
        for notice_id in (nid, demo_published):
            detail = notices.detail(notice_id)
            assert detail.owner == "工作站0" and "工作站0" in detail.read_only and "移交" in detail.read_only
            reasons = notices.actions(notice_id, clerk)
            assert all("工作站0" in reason for reason in reasons.values()), reasons
        row_id = notices.row_ids(nid)[0]
        attempts = {
            "title": lambda: notices.update_header(nid, clerk, title="二号机改的标题"),
            "rows": lambda: notices.add_rows(nid, clerk, [RowInput(name="李四")]),
            "cell": lambda: notices.update_cell(row_id, clerk, "name", "王五"),
            "delete": lambda: notices.delete_row(row_id, clerk),
            "submit": lambda: notices.submit(nid, clerk),
            "correct": lambda: notices.correct(demo_published, clerk),
            "village review": lambda: notices.record_village_review(
                nid, clerk, body="村务监督委员会", names=["赵六"], signed_on=ctx.clock.today()),
        }
        for what, attempt in attempts.items():
            with pytest.raises(PermissionDenied, match="工作站0"):
                attempt()
                pytest.fail(f"{what} went through")
        assert ctx.db.execute_sql("SELECT count(*) FROM outbox WHERE entity IN ('notice', 'roster_row')").fetchone()[0] == 0
    with opened(ws0) as (ctx, clerk):  # offline: the owner goes on
        notices = NoticeService(ctx)
        notices.submit(nid, clerk)
        notices.approve(nid, User.get(User.username == "wangqiang").id)
        notices.publish(nid, clerk)
        assert sync_client(ctx).sync().rejected == 0


def test_what_another_workstation_forces_through_is_refused_and_replaced_by_the_countys_copy(town, tmp_path):
    """A second workstation that writes the owner's notice behind the app's back (a bug, or a
    copied database): its publish, its added row and its changed amount are refused by the county;
    it takes the county's copy, the added row goes, and the sync page says whose notice it is."""
    from app.notices import NoticeService
    from db.changes import new_id, save_change
    from db.models import Notice, RosterRow

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        nid = subsidy_notice(ctx, clerk, "别人不能动的名单", rows=4, seed=12, approved=True)
        sync_client(ctx).sync()
    with opened(ws1) as (ctx, clerk):
        sync_client(ctx).sync()
        before = {r.id: r.amount_fen for r in RosterRow.select().where(RosterRow.notice == nid)}
        with ctx.write():
            n = Notice.get_by_id(nid)
            n.status, n.posting_start, n.published_by = "published", ctx.clock.today(), clerk
            save_change(n)
            first = RosterRow.get((RosterRow.notice == nid) & (RosterRow.seq == 1))
            first.amount_fen = 99_999_999
            save_change(first)
            extra = RosterRow(id=new_id(), notice=nid, township_id=n.township_id, seq=99, name="外加的人",
                              amount_fen=500_000)
            save_change(extra, created=True)
        report = sync_client(ctx).sync()
        assert report.rejected == 3
        assert Notice.get_by_id(nid).status == "approved"
        assert {r.id: r.amount_fen for r in RosterRow.select().where(RosterRow.notice == nid)} == before
        problems = _problems()
        assert {p.kind for p in problems} == {"replaced"} and len(problems) == 3
        assert all("工作站0" in p.reason and "别人不能动的名单" in p.reason for p in problems), problems[0].reason
        assert {p.entity_id for p in problems} == {nid, first.id, extra.id}
        assert NoticeService(ctx).detail(nid).read_only
    county_version, county = town.server_row(nid)
    assert county["status"] == "approved" and county["owner_device"] == device_id(ws0)


def test_the_county_hands_a_notice_over_and_both_workstations_follow(town, tmp_path):
    """The clerk of the first workstation changed the title offline; meanwhile the county hands
    the notice to the second workstation. The first one's change is refused with the county's copy
    (its own kept in a record), and it can no longer act on the notice; the second, which asked
    for it, now can."""
    from app.errors import PermissionDenied, SyncError
    from app.notices import NoticeService
    from db.models import Notice

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        nid = subsidy_notice(ctx, clerk, "要移交的名单", rows=3, seed=13)
        sync_client(ctx).sync()
        NoticeService(ctx).update_header(nid, clerk, title="一号机离线改的标题")
    with opened(ws1) as (ctx, clerk):
        sync_client(ctx).sync()
        sync_client(ctx).request_handover(nid)  # the clerk asks from the read-only notice
        sync_client(ctx).request_handover(nid)  # twice: still one request
    with opened(ws0) as (ctx, clerk), pytest.raises(SyncError, match="已由本机办理"):
        sync_client(ctx).request_handover(nid)
    conn = town.server()
    try:
        assert conn.execute("SELECT device_id, done_at FROM handover_request WHERE notice_id = ?",
                            (nid,)).fetchall() == [(device_id(ws1), None)]
    finally:
        conn.close()
    town.hand_over(nid, ws1)
    conn = town.server()
    try:
        [(done,)] = conn.execute("SELECT done_at FROM handover_request WHERE notice_id = ?", (nid,)).fetchall()
        assert done is not None
    finally:
        conn.close()
    with opened(ws0) as (ctx, clerk):
        assert sync_client(ctx).sync().rejected == 1
        notice = Notice.get_by_id(nid)
        assert notice.title == "要移交的名单" and notice.owner_device == device_id(ws1)
        [problem] = _problems()
        assert problem.kind == "replaced" and problem.local_data["title"] == "一号机离线改的标题"
        assert "工作站1" in problem.reason
        with pytest.raises(PermissionDenied, match="工作站1"):
            NoticeService(ctx).update_header(nid, clerk, title="还想改")
    with opened(ws1) as (ctx, clerk):
        sync_client(ctx).sync()
        notices = NoticeService(ctx)
        assert notices.detail(nid).read_only == ""
        notices.update_header(nid, clerk, title="二号机接手后的标题")
        notices.submit(nid, clerk)
        assert sync_client(ctx).sync().rejected == 0
    assert town.server_row(nid)[1]["status"] == "in_review"


def test_a_page_the_county_takes_down_is_shown_on_the_notice_at_every_workstation(town, tmp_path):
    """The county takes a published notice's public page down with a reason: each workstation of
    the township sees it on the notice after its next sync, and no longer once it is put back."""
    from app.context import Clock
    from app.notices import NoticeService
    from db.models import Notice

    ws0, ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, _clerk):
        sync_client(ctx).sync()
        nid = Notice.get(Notice.status == "published").id
        assert NoticeService(ctx).detail(nid).page_down == ""
    now = Clock().now()
    town._county(lambda svc: svc.take_down(nid, "名单中有外村人员，待核实。", "county-admin", now))
    for station in (ws0, ws1):
        with opened(station) as (ctx, _clerk):
            sync_client(ctx).sync()
            text = NoticeService(ctx).detail(nid).page_down
            assert "暂停在网上公开" in text and "名单中有外村人员，待核实" in text, text
    town._county(lambda svc: svc.put_back(nid, "county-admin", now))
    with opened(ws1) as (ctx, _clerk):
        sync_client(ctx).sync()
        assert NoticeService(ctx).detail(nid).page_down == ""
