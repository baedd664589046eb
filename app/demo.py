"""A realistic demo township for trying the application and for tests.

云岭县 石门镇 with nine villages and their village groups, programs for subsidies, poverty funds
and land acquisition, boards, staff accounts, county settings with a loopback public URL, and
notices in every lifecycle state. All people are invented; ID numbers are synthetic with valid
check digits.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from app.boards import BoardService
from app.context import Clock, Context
from app.errors import Cancelled
from app.i18n import _
from app.money import compute_amount_fen
from app.notices import NoticeService
from app.objections import ObjectionService
from app.reference import ReferenceService
from app.rows import RowInput
from app.settings import county_setting_id, set_local
from app.users import UserService
from db.changes import save_change
from db.models import CountySetting

DEMO_PASSWORD = "gongkai-demo"
DEMO_PUBLIC_URL = "http://127.0.0.1:8765"

COUNTY = ("云岭县", "539901000000")
TOWNSHIP = ("石门镇", "539901101000")
VILLAGES = ["石门村", "柳溪村", "青石村", "桃源村", "白沙村", "双河村", "杨家坝村", "高坪村", "龙潭村"]
GROUP_NAMES = ["一组", "二组", "三组", "四组", "五组", "六组", "七组"]

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "国建华明志秀英桂兰玉芳德文军平春红海云成永强福祥金凤良有贵荣生清光和兴忠才洪学林宝珍美丽霞"
MINORITY = ["阿依古丽·买买提", "热依拉·艾山", "扎西·次仁", "木沙·阿不都"]
# birthplace prefixes of real administrative codes, so that the demo IDs pass region checks
ID_PREFIXES = ["530102", "530381", "532901", "533102"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _photo_png(rng: random.Random, width: int = 96, height: int = 64) -> bytes:
    """A small stand-in photo (PNG) of a notice on a board: grey board, white sheet."""
    import struct
    import zlib

    shade = rng.randrange(90, 140)
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            paper = 20 <= x < 76 and 8 <= y < 56
            row += bytes((250, 250, 245) if paper else (shade, shade + 10, shade))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b""))


def make_id_number(rng: random.Random) -> str:
    """A synthetic 18-digit ID number with a valid GB 11643 check digit."""
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 62))
    body = f"{rng.choice(ID_PREFIXES)}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def make_name(rng: random.Random) -> str:
    if rng.random() < 0.01:
        return rng.choice(MINORITY)
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def make_account(rng: random.Random) -> str:
    return "6228" + "".join(str(rng.randrange(10)) for _ in range(15))


def make_phone(rng: random.Random) -> str:
    return rng.choice(["138", "139", "150", "187", "199"]) + f"{rng.randrange(0, 10**8):08d}"


def soil_subsidy_rows(rng: random.Random, count: int, group_name: str = "一组") -> list[RowInput]:
    """``count`` synthetic rows of a soil-fertility subsidy roster (0.5–25 亩 at 103.55 元/亩, each
    with a bank account), for the benchmarks and the tests that need a large roster."""
    rate = Decimal("103.55")
    rows = []
    for _row in range(count):
        qty = Decimal(rng.randrange(50, 2500)) / 100
        rows.append(RowInput(name=make_name(rng), id_number=make_id_number(rng), group_name=group_name, quantity=qty,
                             rate=rate, amount_fen=compute_amount_fen(qty, rate), bank_account=make_account(rng)))
    return rows


@dataclass(frozen=True)
class DemoSummary:
    township_id: str
    villages: int
    notices: int
    rows: int
    users: dict[str, str]  # username -> role
    notes: tuple[str, ...] = ()  # what the demo had to assume, for the person trying it


def create_demo(ctx: Context, seed: int = 2026, progress=None,
                cancel: threading.Event | None = None) -> DemoSummary:
    """Fill an empty database with the demo township. Deterministic for a given seed.

    All of it is written in one transaction: a failure, a crash or ``cancel`` (checked once per
    village; raises Cancelled) leaves the database as empty as it was. ``progress(done, total,
    message)`` is called once per village; it may run on a worker thread.
    """
    def report(done: int, total: int, message: str) -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled(_("已取消创建演示数据，未保存任何内容。"))
        if progress is not None:
            progress(done, total, message)

    with ctx.write():
        return _create_demo(ctx, seed, report)


def _create_demo(ctx: Context, seed: int, report) -> DemoSummary:
    rng = random.Random(seed)
    ref = ReferenceService(ctx)
    users = UserService(ctx)
    notices = NoticeService(ctx)
    objections = ObjectionService(ctx)
    today = ctx.clock.today()

    county = ref.add_region(COUNTY[0], "county", COUNTY[1])
    township = ref.add_region(TOWNSHIP[0], "township", TOWNSHIP[1], county.id)
    with ctx.write():
        set_local("township_id", township.id)
        for key, value in {"public_url": DEMO_PUBLIC_URL, "county_name": COUNTY[0],
                           "id_mask_pattern": "2+3", "objection_answer_days": 7}.items():
            save_change(CountySetting(id=county_setting_id(key), key=key, value=value), created=True)
    ref.install_defaults()
    notes = _cover_demo_years(ref, today)
    villages = []
    for i, name in enumerate(VILLAGES, start=1):
        v = ref.add_region(name, "village", f"{TOWNSHIP[1][:9]}{200 + i:03d}", township.id)
        groups = [ref.add_region(g, "group", None, v.id) for g in GROUP_NAMES[: rng.randint(4, 7)]]
        villages.append((v, groups))
        ref.add_board(f"{name}村务公开栏", v.id, f"{name}村委会门前")
    ref.add_board(f"{TOWNSHIP[0]}政务公开栏", None, "镇政府大院")

    admin = users.create("admin", "系统管理员", "admin", DEMO_PASSWORD)
    clerk = users.create("zhangli", "张丽", "preparer", DEMO_PASSWORD)
    reviewer = users.create("wangqiang", "王强", "reviewer", DEMO_PASSWORD)
    users.create("liumin", "刘敏", "reviewer", DEMO_PASSWORD)

    year = today.year
    soil = ref.add_program(name=f"{year}年耕地地力保护补贴", year=year, notice_type_code="subsidy_payout",
                           unit="亩", rate=Decimal("103.55"), funding_source="中央财政",
                           legal_basis="《农业相关转移支付资金管理办法》")
    credit = ref.add_program(name=f"{year}年脱贫人口小额信贷贴息", year=year,
                             notice_type_code="poverty_household", unit="户", funding_source="财政衔接资金")
    projects = ref.add_program(name=f"{year}年财政衔接推进乡村振兴补助资金", year=year,
                               notice_type_code="poverty_project", unit="项", funding_source="中央、省级衔接资金")
    land_plan = ref.add_program(name="G318线石门段改线工程征地", year=year,
                                notice_type_code="land_compensation_plan", unit="亩", rate=Decimal("37700"))
    land_pre = ref.add_program(name="G318线石门段改线工程征地预公告", year=year,
                               notice_type_code="land_preannouncement", unit="亩")

    def subsidy_rows(groups, n: int) -> list[RowInput]:
        rows = []
        for _row in range(n):
            qty = Decimal(rng.randrange(50, 2500)) / Decimal(100)
            rows.append(RowInput(
                name=make_name(rng), id_number=make_id_number(rng), group_name=rng.choice(groups).name,
                quantity=qty, rate=Decimal("103.55"), amount_fen=compute_amount_fen(qty, Decimal("103.55")),
                bank_account=make_account(rng), phone=make_phone(rng) if rng.random() < 0.7 else "",
            ))
        rows.sort(key=lambda r: GROUP_NAMES.index(r.group_name))
        return rows

    def on(day: date) -> NoticeService:
        """The notice service as it was on ``day`` (10:00 China time): the demo has a history."""
        moment = datetime.combine(day, time(2, 0), tzinfo=UTC)
        return NoticeService(Context(db=ctx.db, data_dir=ctx.data_dir, clock=Clock.fixed(moment)))

    def through_review(nid: str, village_name: str | None, approved: date) -> None:
        past = on(approved)
        past.submit(nid, clerk.id)
        if village_name:
            past.record_village_review(nid, clerk.id, body=f"{village_name}村务监督委员会",
                                       names=["李德明", "陈秀英", "赵国强"], signed_on=approved - timedelta(days=1))
        past.approve(nid, reviewer.id)

    counts = {"notices": 0, "rows": 0}

    def new_notice(program, village=None, rows=()) -> str:
        nid = notices.create(clerk.id, notice_type_id=program.notice_type_id, program_id=program.id,
                             village_id=village.id if village else None,
                             contact_person="张丽", contact_phone="0872-6123456")
        if rows:
            notices.add_rows(nid, clerk.id, list(rows))
        counts["notices"] += 1
        counts["rows"] += len(rows)
        return nid

    # 耕地地力保护补贴: one notice per village, in every state
    states = ["closed", "closed", "published", "published", "corrected", "approved", "in_review",
              "withdrawn", "draft"]
    for done, ((village, groups), state) in enumerate(zip(villages, states, strict=True)):
        report(done, len(villages) + 1, f"{village.name}：{soil.name}")
        rows = subsidy_rows(groups, rng.randint(230, 290))
        if state == "draft":
            # a draft as imported: two rows with mistakes for the clerk to fix
            bad_id = rows[3].id_number[:-1] + ("0" if rows[3].id_number[-1] != "0" else "1")
            rows[3] = RowInput(**{**rows[3].__dict__, "id_number": bad_id})
            rows[7] = RowInput(**{**rows[7].__dict__, "amount_fen": rows[7].amount_fen + 100})
        nid = new_notice(soil, village, rows)
        if state == "draft":
            continue
        if state == "in_review":
            notices.submit(nid, clerk.id)
            continue
        start = today - timedelta(days=30) if state == "closed" else today - timedelta(days=2)
        through_review(nid, village.name, today - timedelta(days=1) if state == "approved" else start)
        if state == "approved":
            continue
        on(start).publish(nid, clerk.id, start=start)
        if state == "withdrawn":
            notices.withdraw(nid, reviewer.id, "补贴面积统计口径有误，核实后重新公示")
        elif state == "closed":
            notices.close(nid, reviewer.id)
        elif state == "corrected":
            oid = objections.record(nid, clerk.id, channel="visit", content="本人实际承包面积比公示少 0.5 亩，请核实。",
                                    contact="本人到村委会反映")
            objections.answer(oid, clerk.id, "经村组核实，面积登记有误，已更正并重新公示。", led_to_correction=True)
            new_id_ = notices.correct(nid, clerk.id)
            first = notices.rows(new_id_, 0, 1)[0]
            qty = first.quantity - Decimal("0.5")
            notices.update_row(first.id, clerk.id, RowInput(
                name=first.name, id_number=first.id_number, group_name=first.group_name, quantity=qty,
                rate=first.rate, amount_fen=compute_amount_fen(qty, first.rate),
                bank_account=first.bank_account, phone=first.phone, remark="更正：面积核减 0.5 亩"))
            through_review(new_id_, village.name, today - timedelta(days=1))
            on(today - timedelta(days=1)).publish(new_id_, clerk.id, start=today - timedelta(days=1))
            counts["notices"] += 1
            counts["rows"] += notices.row_count(new_id_)

    # an open objection on a running notice
    running = [s for s in notices.summaries() if s.status == "published"][0]
    objections.record(running.id, clerk.id, channel="phone", content="我家二组的补贴面积好像少算了，请核实。",
                      contact="村民 周某")

    report(len(villages), len(villages) + 1, "衔接资金与征地公告")
    # poverty funds: per-household small-loan interest subsidies and the township project list
    village, groups = villages[0]
    credit_rows = []
    for _row in range(60):
        interest = rng.randrange(30_000, 250_000)
        credit_rows.append(RowInput(
            name=make_name(rng), id_number=make_id_number(rng), group_name=rng.choice(groups).name,
            extra={"x_item": "小额信贷贴息"}, amount_fen=interest, bank_account=make_account(rng)))
    nid = new_notice(credit, village, credit_rows)
    through_review(nid, village.name, today - timedelta(days=3))
    on(today - timedelta(days=3)).publish(nid, clerk.id, start=today - timedelta(days=3))

    project_rows = []
    for i, (v, _groups) in enumerate(villages[:6]):
        project_rows.append(RowInput(
            name=f"{v.name}{['产业路硬化', '高标准农田', '饮水安全巩固提升', '茶叶加工厂房', '村道安防', '冷链仓储'][i]}项目",
            extra={"x_location": v.name, "x_content": "新建或改造，具体规模见项目库", "x_period": f"{year}年3月—{year}年11月",
                   "x_implementer": f"{TOWNSHIP[0]}人民政府 / {v.name}村民委员会",
                   "x_benefit": "带动脱贫户和监测户增收，受益群众满意度≥95%"},
            amount_fen=rng.randrange(20, 150) * 1_000_000))
    nid = new_notice(projects, None, project_rows)
    through_review(nid, None, today - timedelta(days=5))
    on(today - timedelta(days=5)).publish(nid, clerk.id, start=today - timedelta(days=5))

    # land acquisition: a pre-announcement (working days) and a compensation plan (30 days)
    village, groups = villages[2]
    pre_rows = [RowInput(group_name=g.name, quantity=Decimal(rng.randrange(100, 900)) / 10,
                         extra={"x_land_class": rng.choice(["水田", "旱地", "林地"])}) for g in groups[:3]]
    nid = new_notice(land_pre, village, pre_rows)
    through_review(nid, village.name, today - timedelta(days=4))
    on(today - timedelta(days=4)).publish(nid, clerk.id, start=today - timedelta(days=4))
    plan_rows = []
    for g in groups[:3]:
        qty = Decimal(rng.randrange(100, 900)) / 10
        plan_rows.append(RowInput(group_name=g.name, quantity=qty, rate=Decimal("37700"),
                                  amount_fen=compute_amount_fen(qty, Decimal("37700")),
                                  extra={"x_land_class": "耕地"}))
    new_notice(land_plan, village, plan_rows)

    # postings on the boards, with a photo of each village board
    boards = BoardService(ctx)
    by_village = {b.village_id: b for b in ref.boards()}
    import tempfile

    photo_dir = Path(tempfile.mkdtemp(prefix="gongkai-demo-"))
    for s in notices.summaries():
        if s.status not in ("published", "closed") or s.village_id is None:
            continue
        pid = boards.post(s.id, by_village[s.village_id].id, clerk.id, posted_on=s.posting_start) \
            if s.status == "published" else None
        if pid:
            photo = photo_dir / f"{s.village}-张贴.png"
            photo.write_bytes(_photo_png(rng))
            boards.add_evidence(pid, clerk.id, photo)
            photo.unlink()
    photo_dir.rmdir()

    return DemoSummary(township.id, len(villages), counts["notices"], counts["rows"],
                       {u.username: u.role for u in users.list()} | {"admin": admin.role}, notes)


# The demo's notices were posted up to 30 days ago and run for up to about 25 days more (10 working
# days over a Spring Festival); the calendar page looks ahead a little further.
DEMO_YEARS_BACK = timedelta(days=45)
DEMO_YEARS_AHEAD = timedelta(days=90)


def _cover_demo_years(ref: ReferenceService, today: date) -> tuple[str, ...]:
    """Make sure the demo's posting periods can be counted whatever today is.

    Working days need the holiday arrangement of every year a period touches. For a year neither
    the calendar package nor the county covers (say the demo is tried on 28 December and the State
    Council's arrangement for next year is not in the installed package yet), the demo county
    declares a stand-in arrangement — 元旦 and weekends only — and says so. Real data is never
    touched: this runs only inside a new demo database.
    """
    from app.notices import holiday_calendar

    calendar = holiday_calendar()
    first, last = (today - DEMO_YEARS_BACK).year, (today + DEMO_YEARS_AHEAD).year
    missing = [y for y in range(first, last + 1) if not calendar.covers(y)]
    if not missing:
        return ()
    ref.set_holidays([(date(y, 1, 1), False, "元旦") for y in missing], complete_years=missing)
    years = "、".join(str(y) for y in missing)
    return (_("系统尚无{years}年的国家节假日安排。为能按工作日计算演示公示的期限，演示县补了一份演示用安排："
              "只放元旦和周末，不是正式安排。正式使用时以县里下发的节假日安排为准。").format(years=years),)
