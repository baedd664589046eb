"""End to end against the real county server in a subprocess: a township publishes a notice and
syncs; residents see it on the county's public page and object through its form; the objection
reaches the township with the next sync; the clerk's answer reaches the county; a second
workstation of the township, enrolled afterwards, sees all of it.

(tests/sync/test_client.py covers enrolment, the first sync of the whole demo and photos; this
file follows one notice through its public life.)
"""

from __future__ import annotations

import html
import json
import re

import pytest
import requests

from .township import CLERK, Station, new_enroll_code, opened, sync_client, township


@pytest.fixture(scope="module")
def town(tmp_path_factory, _demo_today_template):
    # the county server runs on the real clock: so do the demo and the workstation here
    with township(tmp_path_factory, _demo_today_template, stations=1) as t:
        yield t


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_a_published_notice_a_residents_objection_and_its_answer_go_round(town, tmp_path):
    from app.notices import NoticeService
    from app.objections import ObjectionService
    from app.users import UserService
    from db.models import Notice, Objection, ObjectionAnswer, RosterRow

    [ws0] = town.reset(tmp_path)
    # 1. the clerk publishes the notice the reviewer approved yesterday, and syncs
    with opened(ws0) as (ctx, clerk):
        notices = NoticeService(ctx)
        notice = Notice.get(Notice.status == "approved")
        view = notices.publish(notice.id, clerk)
        report = sync_client(ctx).sync()
        assert report.pushed >= 2 and report.conflicts == report.rejected == 0
        published = Notice.get_by_id(notice.id)
        first_row = RosterRow.select().where(RosterRow.notice == notice.id).order_by(RosterRow.seq).first()
    name_at = next(i for i, c in enumerate(view.columns) if c.key == "name")
    name = view.rows[0][name_at]  # names are public on a subsidy list; ID numbers and accounts never

    # 2. the county's public page shows it: title and the list, without ID numbers or accounts
    page = requests.get(f"{town.base}/v/{notice.id}/{published.edition}", params={"f": published.fingerprint[:12]},
                        timeout=10)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert published.title in text and name in text and "与正式记录一致" in text and "公示中" in text
    assert first_row.id_number not in text and first_row.bank_account not in text
    assert not re.search(r"(?<!\d)\d{17}[\dX](?!\d)", text)  # no ID number at all

    # 3. a resident objects through the page's form
    form = requests.get(f"{town.base}/v/{notice.id}/{published.edition}/objection", timeout=10)
    assert form.status_code == 200
    sent = requests.post(f"{town.base}/v/{notice.id}/{published.edition}/objection", timeout=10,
                         data={"content": "我家的补贴面积少算了半亩，请核实。", "contact": "村民 王某", "row": "1",
                               "csrf": _csrf(form.text)})
    assert sent.status_code == 200 and "已收到您的反映" in sent.text
    number = re.search(r"登记编号 (WS-\d{8}-\d+)", sent.text).group(1)

    # 4. it reaches the township with the next sync, and the clerk answers it
    with opened(ws0) as (ctx, clerk):
        report = sync_client(ctx).sync()
        assert report.conflicts == 0
        objections = ObjectionService(ctx)
        [mine] = [o for o in objections.inbox() if o.number == number]
        assert (mine.notice_id, mine.channel, mine.status) == (notice.id, "portal", "open")
        assert mine.content == "我家的补贴面积少算了半亩，请核实。" and mine.roster_row_id == first_row.id
        objections.answer(mine.id, clerk, "经村组核实，面积无误，已电话告知。")
        report = sync_client(ctx).sync()
        assert report.conflicts == report.rejected == 0
        assert objections.inbox() == [o for o in objections.inbox() if o.number != number]

    # 5. the county has the answer, appended to the resident's objection as it was submitted
    conn = town.server()
    objection = json.loads(conn.execute("SELECT data FROM sync_row WHERE entity = 'objection' AND id = ?",
                                        (mine.id,)).fetchone()[0])
    answers = [json.loads(d) for (d,) in conn.execute("SELECT data FROM sync_row WHERE entity = 'objection_answer'")]
    conn.close()
    assert objection["status"] == "answered" and objection["origin"] == "portal"
    assert objection["content"] == "我家的补贴面积少算了半亩，请核实。"
    assert [a["text"] for a in answers if a["objection_id"] == mine.id] == ["经村组核实，面积无误，已电话告知。"]

    # 6. a second workstation of the township, enrolled now, sees all of it
    second = Station("second", tmp_path / "second")
    from app.context import Context
    from db.connection import close_database, open_database

    ctx = Context(db=open_database(second.db_path), data_dir=second.data_dir)
    try:
        client = sync_client(ctx)
        client.enroll(town.proxy.url, new_enroll_code(town.db_url), "二号机")
        UserService(ctx).create(CLERK, "张丽", "preparer", "long enough 1")
        client.sync()
        there = Notice.get_by_id(notice.id)
        assert (there.status, there.fingerprint, there.posting_start) == (
            "published", published.fingerprint, published.posting_start)
        assert RosterRow.select().where(RosterRow.notice == notice.id).count() == view.total_rows
        theirs = Objection.get_by_id(mine.id)
        assert (theirs.number, theirs.status) == (number, "answered")
        assert [a.text for a in ObjectionAnswer.select().where(ObjectionAnswer.objection == mine.id)] == [
            "经村组核实，面积无误，已电话告知。"]
        # and the view it would print is the one the county shows
        assert NoticeService(ctx).public_view(notice.id).fingerprint() == published.fingerprint
    finally:
        close_database()
