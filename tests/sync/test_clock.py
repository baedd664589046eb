"""Posting dates from a wrong clock (SYNC.md situation 4), against the real server in a subprocess
(its clock is the real one; each workstation's clock is set here).

A workstation learns how far its clock is off at every contact with the county; it refuses to
publish or close on a clock it cannot trust, and the county refuses dates it cannot vouch for,
with the county's copy and a message saying which printout to take down.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from .township import opened, subsidy_notice, sync_client, township

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def town(tmp_path_factory, _demo_today_template):
    with township(tmp_path_factory, _demo_today_template, stations=1) as t:
        yield t


def _approved(ctx, clerk, title: str) -> str:
    return subsidy_notice(ctx, clerk, title, rows=3, seed=4, approved=True)


def _reviewer() -> str:
    from db.models import User

    return User.get(User.username == "wangqiang").id


def _real_now():
    from app.context import Clock

    return Clock().now()


def test_a_clock_set_back_after_the_last_sync_cannot_publish(town, tmp_path):
    """92 days slow since the last sync: publishing would post a period that ended long ago."""
    from app.context import Clock
    from app.legal_time import ClockDoubtful
    from app.notices import NoticeService
    from db.models import Notice

    [ws] = town.reset(tmp_path)
    with opened(ws) as (ctx, clerk):
        nid = _approved(ctx, clerk, "时钟慢了的公示")
        submitted = subsidy_notice(ctx, clerk, "待审批的名单", rows=2, seed=5)
        NoticeService(ctx).submit(submitted, clerk)
        sync_client(ctx).sync()
    with opened(ws, clock=Clock.fixed(_real_now() - timedelta(days=92))) as (ctx, clerk):
        with pytest.raises(ClockDoubtful, match="早于上次与县里同步的时间"):
            NoticeService(ctx).publish(nid, clerk)
        assert Notice.get_by_id(nid).status == "approved"
        # the approval date is printed on the notice too: not from this clock either
        with pytest.raises(ClockDoubtful, match="暂不能审批"):
            NoticeService(ctx).approve(submitted, _reviewer())
        assert Notice.get_by_id(submitted).status == "in_review"


def test_a_clock_found_wrong_at_the_last_sync_cannot_publish_until_it_is_set_right(town, tmp_path):
    from app.context import Clock
    from app.legal_time import ClockDoubtful
    from app.notices import NoticeService

    [ws] = town.reset(tmp_path)
    with opened(ws) as (ctx, clerk):
        nid = _approved(ctx, clerk, "同步时发现时钟不准")
    slow = Clock.fixed(_real_now() - timedelta(days=92))
    with opened(ws, clock=slow) as (ctx, clerk):
        sync_client(ctx).sync()
        with pytest.raises(ClockDoubtful, match="相差约 92 天"):
            NoticeService(ctx).publish(nid, clerk)
    with opened(ws) as (ctx, clerk):  # the clock set right: still refused until the county is reached
        with pytest.raises(ClockDoubtful, match="相差约 92 天"):
            NoticeService(ctx).publish(nid, clerk)
        sync_client(ctx).sync()
        view = NoticeService(ctx).publish(nid, clerk)
        assert view.posting_start == ctx.clock.today().isoformat()


def test_a_clock_gone_ahead_offline_publishes_and_closes_nothing_the_county_accepts(town, tmp_path):
    """100 days fast, offline: the workstation cannot tell, so it prints; the county refuses both
    the publish and an early close, the workstation takes the county's copy, and the clerk is told
    to take the printout down."""
    from app.context import Clock
    from app.legal_time import ClockDoubtful
    from app.notices import NoticeService
    from db.models import Notice, SyncProblem

    [ws] = town.reset(tmp_path)
    with opened(ws) as (ctx, clerk):
        nid = _approved(ctx, clerk, "时钟快了的公示")
        posted = _approved(ctx, clerk, "正在公示的名单")
        NoticeService(ctx).publish(posted, clerk)
        sync_client(ctx).sync()
    ahead = Clock.fixed(_real_now() + timedelta(days=100))
    with opened(ws, clock=ahead) as (ctx, clerk):
        NoticeService(ctx).publish(nid, clerk)  # offline: nothing here can tell the clock is wrong
        NoticeService(ctx).close(posted, _reviewer())
        report = sync_client(ctx).sync()
        assert report.rejected == 2
        assert Notice.get_by_id(nid).status == "approved" and Notice.get_by_id(nid).posting_start is None
        assert Notice.get_by_id(posted).status == "published" and Notice.get_by_id(posted).closed_at is None
        problems = list(SyncProblem.select().where(SyncProblem.resolved_at.is_null()))
        assert {p.kind for p in problems} == {"replaced"} and len(problems) == 2
        assert all("撤下" in p.reason and "电脑的日期" in p.reason for p in problems)
    assert town.server_row(nid)[1]["status"] == "approved"
    [(closed,)] = town.server().execute("SELECT json_extract(data, '$.status') FROM sync_row WHERE id = ?",
                                        (posted,)).fetchall()
    assert closed == "published"
    with opened(ws, clock=ahead) as (ctx, clerk):  # the sync taught the workstation its clock is off
        with pytest.raises(ClockDoubtful, match="相差约 100 天"):
            NoticeService(ctx).publish(nid, clerk)


def test_a_usb_reply_tells_an_offline_workstation_the_countys_date(town, tmp_path):
    """The override for a township with no network: a reply made by the county carries its date.
    A workstation that has never learned the county's time cannot publish; after importing a
    reply it can, and a clock behind the reply's date is refused."""
    import subprocess
    import sys

    from app.context import Clock
    from app.legal_time import COUNTY_CLOCK_KEY, ClockDoubtful
    from app.notices import NoticeService
    from app.settings import get_local
    from db.models import LocalSetting
    from sync.client import SyncClient

    [ws] = town.reset(tmp_path)
    with opened(ws) as (ctx, clerk):
        nid = _approved(ctx, clerk, "U盘同步的公示")
        LocalSetting.delete().where(LocalSetting.key == COUNTY_CLOCK_KEY).execute()  # e.g. enrolled by an older version
        with pytest.raises(ClockDoubtful, match="还没有从县里取得过标准时间"):
            NoticeService(ctx).publish(nid, clerk)
        SyncClient(ctx).export_bundle(tmp_path / "request.gkb")
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "bundle", "import", str(tmp_path / "request.gkb"),
                          "--db", town.db_url, "--output", str(tmp_path / "reply.gkb")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    with opened(ws, clock=Clock.fixed(_real_now() - timedelta(days=30))) as (ctx, clerk):
        SyncClient(ctx).import_reply(tmp_path / "reply.gkb")
        assert get_local(COUNTY_CLOCK_KEY)["source"] == "usb"
        with pytest.raises(ClockDoubtful, match="相差约 30 天"):
            NoticeService(ctx).publish(nid, clerk)
    with opened(ws, clock=Clock.fixed(_real_now() + timedelta(hours=5))) as (ctx, clerk):
        SyncClient(ctx).import_reply(tmp_path / "reply.gkb")  # the stick came back a few hours later
        view = NoticeService(ctx).publish(nid, clerk)
        assert view.posting_start == ctx.clock.today().isoformat()
