"""Two copies of one row that differ while their versions agree, against the real server in a
subprocess: the same notice published twice, by its workstation and by that workstation restored
from a backup (SYNC.md situation 3), and a copy
changed behind the version's back (situation 6). The county's copy is what residents see: the
other workstation takes it, keeps its own in a record, and is told which printout to take down.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from .township import opened, subsidy_notice, sync_client, township


@pytest.fixture(scope="module")
def town(tmp_path_factory, _demo_today_template):
    with township(tmp_path_factory, _demo_today_template, stations=2) as t:
        yield t


def test_the_same_notice_published_twice_ends_as_the_countys_edition_everywhere(town, tmp_path):
    """Only the owning workstation publishes a notice, so a second edition can only come from
    that workstation restored from a backup made before it published (SYNC.md situation 3): the
    restored copy, offline, publishes it again a day later. The county keeps the first edition;
    the copy takes it — period, public content and fingerprint — keeps its own in a record that
    says which printout to take down, and a scan of its reprint matches the county."""
    from app.context import Clock
    from app.integrity import verify_database
    from app.maintenance import backup_to, restore_from
    from app.notices import NoticeService
    from db.models import Notice, SyncProblem
    from sync.client import ConflictService

    ws0, _ws1 = town.reset(tmp_path)
    today = Clock().now()
    with opened(ws0, clock=Clock.fixed(today)) as (ctx, clerk):
        nid = subsidy_notice(ctx, clerk, "发布了两次的名单", rows=8, seed=3, approved=True)
        sync_client(ctx).sync()
        backup_to(ctx, tmp_path / "before.sqlite3")
        NoticeService(ctx).publish(nid, clerk)
        assert sync_client(ctx).sync().rejected == 0
        edition = Notice.get_by_id(nid)
        restore_from(ctx, tmp_path / "before.sqlite3", None)
    with opened(ws0, clock=Clock.fixed(today + timedelta(days=1))) as (ctx, clerk):  # offline
        NoticeService(ctx).publish(nid, clerk)
        mine = Notice.get_by_id(nid)
        assert mine.posting_start != edition.posting_start and mine.fingerprint != edition.fingerprint
        report = sync_client(ctx).sync(check=True)
        assert report.rejected == 1 and report.integrity == ()
        now = Notice.get_by_id(nid)
        for field in ("posting_start", "posting_end", "fingerprint", "public_snapshot", "published_by", "version"):
            assert getattr(now, field) == getattr(edition, field), field
        county_version, county = town.server_row(nid)
        assert county["fingerprint"] == edition.fingerprint and county_version == edition.version
        [problem] = SyncProblem.select().where(SyncProblem.resolved_at.is_null())
        assert problem.kind == "replaced" and problem.local_data["fingerprint"] == mine.fingerprint
        assert "撤下" in problem.reason and mine.posting_start.isoformat() in problem.reason
        assert edition.posting_start.isoformat() in problem.reason
        ConflictService(ctx).acknowledge(problem.id, clerk)
        verified = verify_database(ctx)
        assert verified.ok, verified.first_problem


def test_a_copy_changed_behind_its_version_is_found_by_the_check_and_given_back(town, tmp_path):
    """A roster amount changed here without a new version (a copy put back by hand, a bug): the
    versions agree, the content does not. The check after sync names it, this workstation takes
    the county's copy, and its own is kept in a record."""
    from db.models import Notice, RosterRow, SyncProblem

    ws0, _ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, _clerk):
        notice = Notice.select().where(Notice.status == "published").first()
        row = RosterRow.select().where(RosterRow.notice == notice.id).first()
        ctx.db.execute_sql("UPDATE roster_row SET amount_fen = amount_fen + 100000 WHERE id = ?", (row.id,))
        report = sync_client(ctx).sync(check=True)
        assert report.integrity == ("roster_row",) and report.repaired
        assert RosterRow.get_by_id(row.id).amount_fen == row.amount_fen == town.server_row(row.id)[1]["amount_fen"]
        assert RosterRow.get_by_id(row.id).version == row.version
        [problem] = SyncProblem.select().where(SyncProblem.resolved_at.is_null())
        assert problem.kind == "replaced" and problem.local_data["amount_fen"] == row.amount_fen + 100000
        assert sync_client(ctx).sync(check=True).integrity == ()


def test_a_publish_under_a_masking_rule_the_county_has_changed_is_refused_and_published_again(town, tmp_path):
    """The county now shows masked ID numbers on its notices; a workstation that has not synced
    since publishes under the old rule. The county derives the public view itself and refuses the
    publish; the workstation goes back to approved with a message saying to take the printout
    down, and after the sync that brought the rule its new edition is accepted as it is."""
    from app.notices import NoticeService
    from app.settings import county_setting_id
    from db.models import Notice, SyncProblem

    ws0, _ws1 = town.reset(tmp_path)
    with opened(ws0) as (ctx, clerk):
        nid = subsidy_notice(ctx, clerk, "脱敏规则变了的名单", rows=3, seed=21, approved=True)
        sync_client(ctx).sync()
    town._county(lambda svc: svc.put_county_row("county_setting", county_setting_id("show_id_column"),
                                                {"key": "show_id_column", "value": True}))
    with opened(ws0) as (ctx, clerk):
        old_rule = NoticeService(ctx).publish(nid, clerk)
        assert not any(c.kind == "id_masked" for c in old_rule.columns)
        report = sync_client(ctx).sync()
        assert report.rejected == 1
        assert Notice.get_by_id(nid).status == "approved" and Notice.get_by_id(nid).fingerprint is None
        [problem] = SyncProblem.select().where(SyncProblem.resolved_at.is_null())
        assert problem.kind == "replaced" and "脱敏规则" in problem.reason and "撤下" in problem.reason
        new_rule = NoticeService(ctx).publish(nid, clerk)  # the sync brought the county's rule
        assert any(c.kind == "id_masked" for c in new_rule.columns)
        assert sync_client(ctx).sync().rejected == 0
    assert town.server_row(nid)[1]["fingerprint"] == new_rule.fingerprint()
