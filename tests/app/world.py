"""A small township for service tests: one village, three users of each role, one program."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from app.context import Context
from app.demo import make_id_number, make_name
from app.money import compute_amount_fen
from app.notices import NoticeService
from app.reference import ReferenceService
from app.rows import RowInput
from app.settings import set_local
from app.users import UserService

PASSWORD = "correct horse"


@dataclass
class World:
    ctx: Context
    notices: NoticeService
    township_id: str
    village_id: str
    program_id: str
    land_program_id: str
    clerk: str
    reviewer: str
    reviewer2: str
    admin: str

    def rows(self, n: int, seed: int = 1, rate: Decimal = Decimal("103.55")) -> list[RowInput]:
        import random

        rng = random.Random(seed)
        out = []
        for i in range(n):
            qty = Decimal(rng.randrange(50, 2000)) / 100
            out.append(RowInput(name=make_name(rng), id_number=make_id_number(rng), group_name=f"{i % 3 + 1}组",
                                quantity=qty, rate=rate, amount_fen=compute_amount_fen(qty, rate),
                                bank_account="6228480000000000001", phone="13812341234"))
        return out

    def draft(self, n: int = 5, **kw) -> str:
        nid = self.notices.create(self.clerk, notice_type_id=self._type(self.program_id),
                                  program_id=self.program_id, village_id=self.village_id, **kw)
        self.notices.add_rows(nid, self.clerk, self.rows(n))
        return nid

    def _type(self, program_id: str) -> str:
        return ReferenceService(self.ctx).program(program_id).notice_type_id

    def reviewed(self, n: int = 5) -> str:
        nid = self.draft(n)
        self.notices.submit(nid, self.clerk)
        self.notices.record_village_review(nid, self.clerk, body="村务监督委员会", names=["甲", "乙"],
                                           signed_on=self.ctx.clock.today())
        return nid

    def approved(self, n: int = 5) -> str:
        nid = self.reviewed(n)
        self.notices.approve(nid, self.reviewer)
        return nid

    def published(self, n: int = 5, start: date | None = None) -> str:
        """Approved and published; a start in the past means it was approved back then too."""
        if start is None or start >= self.ctx.clock.today():
            nid = self.approved(n)
            self.notices.publish(nid, self.clerk, start=start)
            return nid
        past = self.at(start)
        nid = self.draft(n)
        past.submit(nid, self.clerk)
        past.record_village_review(nid, self.clerk, body="村务监督委员会", names=["甲", "乙"], signed_on=start)
        past.approve(nid, self.reviewer)
        past.publish(nid, self.clerk, start=start)
        return nid

    def at(self, day: date) -> NoticeService:
        """The notice service as it was on ``day`` (10:00 China time)."""
        from datetime import UTC, datetime, time

        from app.context import Clock, Context

        return NoticeService(Context(db=self.ctx.db, data_dir=self.ctx.data_dir,
                                     clock=Clock.fixed(datetime.combine(day, time(2, 0), tzinfo=UTC))))

    def ended(self, n: int = 5) -> str:
        return self.published(n, start=self.ctx.clock.today() - timedelta(days=30))

    def superseded(self, n: int = 5) -> str:
        """A published notice whose correction has been published since; returns the old one."""
        old = self.published(n)
        new = self.notices.correct(old, self.clerk)
        self.notices.submit(new, self.clerk)
        self.notices.record_village_review(new, self.clerk, body="村务监督委员会", names=["甲"],
                                           signed_on=self.ctx.clock.today())
        self.notices.approve(new, self.reviewer)
        self.notices.publish(new, self.clerk)
        return old


def make_world(ctx: Context) -> World:
    ref = ReferenceService(ctx)
    users = UserService(ctx)
    county = ref.add_region("测试县", "county", "539902000000")
    township = ref.add_region("测试镇", "township", "539902101000", county.id)
    with ctx.write():
        set_local("township_id", township.id)
    village = ref.add_region("测试村", "village", "539902101201", township.id)
    ref.install_defaults()
    program = ref.add_program(name="2026年耕地地力保护补贴", year=2026, notice_type_code="subsidy_payout",
                              unit="亩", rate=Decimal("103.55"))
    land = ref.add_program(name="测试征地预公告", year=2026, notice_type_code="land_preannouncement", unit="亩")
    clerk = users.create("clerk", "经办甲", "preparer", PASSWORD)
    reviewer = users.create("rev", "审核乙", "reviewer", PASSWORD)
    reviewer2 = users.create("rev2", "审核丙", "reviewer", PASSWORD)
    admin = users.create("root", "管理丁", "admin", PASSWORD)
    return World(ctx, NoticeService(ctx), township.id, village.id, program.id, land.id,
                 clerk.id, reviewer.id, reviewer2.id, admin.id)
