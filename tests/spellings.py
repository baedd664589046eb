"""Hypothesis strategies for personal numbers as clerks type them into free text (full-width
digits, spaces or dashes between groups, +86 / 86 / 0086 before a mobile, 15- and 18-digit IDs,
bank cards of 16 to 19 digits in any grouping), and the check that a number cannot be read back
from an output."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from hypothesis import strategies as st

from tests.app.test_validation import gb11643

_FULL_WIDTH = str.maketrans("0123456789X+", "０１２３４５６７８９Ｘ＋")
_SEPARATORS = st.sampled_from([" ", "-", "－", "\u3000", "—"])
#: words around the numbers: what a remark or a 代领人 column says, without digits of its own
WORDS = st.text(alphabet="代领人电话卡号张三李四：，。（）备注联系身份证户主银行", max_size=8)


@st.composite
def spelled(draw, digits: str, groups: tuple[int, ...] | None = None) -> str:
    """``digits`` as a clerk might type them: whole, or in ``groups`` (without ``groups``: split
    anywhere), with one kind of separator, in ASCII or full-width digits."""
    if draw(st.booleans()):
        if groups is None:
            cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), min_size=1)))
        else:
            cuts = [c for c in itertools.accumulate(groups) if c < len(digits)]
        sep = draw(_SEPARATORS)
        digits = sep.join(digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True))
    return digits.translate(_FULL_WIDTH) if draw(st.booleans()) else digits


@st.composite
def personal_number(draw) -> tuple[str, str]:
    """(the number's digits, how it was typed): an 18-digit ID number (grouped 6-8-4 or any way)
    or a 15-digit one (6-6-3), a mobile (3-4-4, with +86 / 86 / 0086 or not) or a bank card of 16
    to 19 digits (4-4-4-4-3, 6-13 or any way)."""
    kind = draw(st.sampled_from(["id", "id15", "mobile", "card"]))
    if kind == "id":
        number = gb11643(draw(st.from_regex(
            r"[1-6][0-9]{5}(19[5-9][0-9]|200[0-9])(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}", fullmatch=True)))
        return number, draw(spelled(number, draw(st.sampled_from([(6, 8, 4), None]))))
    if kind == "id15":  # the first-generation card: 6-digit region, yymmdd, 3-digit sequence
        number = draw(st.from_regex(r"[1-6][0-9]{5}[5-9][0-9](0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])[0-9]{3}",
                                    fullmatch=True))
        return number, draw(spelled(number, (6, 6, 3)))
    if kind == "mobile":
        number = draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
        prefix = draw(st.sampled_from(["", "+86", "86", "0086", "+86 ", "＋86", "86-"]))
        return number, prefix + draw(spelled(number, (3, 4, 4)))
    number = draw(st.from_regex(r"[1-9][0-9]{15,18}", fullmatch=True))
    return number, draw(spelled(number, draw(st.sampled_from([(4, 4, 4, 4, 3), (6, 13), None]))))


@st.composite
def text_with_numbers(draw, max_numbers: int = 2) -> tuple[list[str], str]:
    """(the numbers' digits, a free text holding them as typed), e.g. ``代领人：138 0013 0266。``"""
    parts = draw(st.lists(st.tuples(WORDS, personal_number()), min_size=1, max_size=max_numbers))
    text = "".join(words + "：" + typed for words, (_number, typed) in parts) + "。" + draw(WORDS)
    return [number for _words, (number, _typed) in parts], text


def recoverable(number: str, text: str) -> bool:
    """Whether the number's digits can be read back from ``text`` (any width; spaces, line breaks,
    dashes and plus signs between them ignored)."""
    from app.masking import _fold

    return number.upper() in re.sub(r"[\s+\-]", "", _fold(text)).upper()


# ------------------------------------------------------------------------------ whole notices
#: the 代领人 column a county may add to a roster (an extra column, stored in the row's ``extra``)
AGENT_COLUMN = {"key": "x_agent", "label": "代领人", "kind": "text", "public": True, "unit": "", "required": False}


@dataclass(frozen=True)
class NoticeTexts:
    """What a clerk typed into a notice's free text: its title and body, and per roster row the
    村民小组, 备注 and 代领人 cells; ``numbers`` are the personal numbers typed into them."""

    title: str
    body: str
    rows: tuple[tuple[str, str, str], ...]
    numbers: tuple[str, ...]


@st.composite
def notice_texts(draw, max_rows: int = 3) -> NoticeTexts:
    """Every row's 备注 holds personal numbers; its 代领人 and 村民小组 cells, the title and the
    body often do."""
    numbers: list[str] = []

    def maybe(plain: str, always: bool = False) -> str:
        if not always and draw(st.booleans()):
            return plain
        found, text = draw(text_with_numbers())
        numbers.extend(found)
        return text

    title = maybe("关于测试村耕地地力保护补贴发放情况的公示")
    body = maybe("现将{village}{program}发放情况予以公示。")
    rows = tuple((maybe(f"{i % 3 + 1}组"), maybe("", always=True), maybe("本人"))
                 for i in range(draw(st.integers(1, max_rows))))
    return NoticeTexts(title, body, rows, tuple(numbers))


def publish_texts(world, texts: NoticeTexts) -> str:
    """A subsidy notice of ``world`` (a tests.app.world.World whose subsidy roster has the
    代领人 column, see :func:`add_agent_column`) carrying ``texts``, reviewed, approved and
    published; returns its id."""
    import dataclasses

    from app.reference import ReferenceService

    notice_type = ReferenceService(world.ctx).program(world.program_id).notice_type_id
    nid = world.notices.create(world.clerk, notice_type_id=notice_type, program_id=world.program_id,
                               village_id=world.village_id, title=texts.title, body=texts.body)
    rows = [dataclasses.replace(row, group_name=group, remark=remark, extra={"x_agent": agent})
            for row, (group, remark, agent) in zip(world.rows(len(texts.rows)), texts.rows, strict=True)]
    world.notices.add_rows(nid, world.clerk, rows)
    world.notices.submit(nid, world.clerk)
    world.notices.record_village_review(nid, world.clerk, body="村务监督委员会", names=["甲", "乙"],
                                        signed_on=world.ctx.clock.today())
    world.notices.approve(nid, world.reviewer)
    world.notices.publish(nid, world.clerk)
    return nid


def agent_world(ctx):
    """A test world (tests.app.world) whose subsidy roster has the county's 代领人 column."""
    from tests.app.world import make_world

    world = make_world(ctx)
    add_agent_column(ctx)
    return world


def add_agent_column(ctx) -> None:
    """The county adds a 代领人 column, before 备注, to the subsidy roster."""
    from app.reference import ReferenceService

    reference = ReferenceService(ctx)
    schema = [c for c in reference.notice_type("subsidy_payout").roster_schema if c["key"] != "x_agent"]
    at = next(i for i, c in enumerate(schema) if c["key"] == "remark")
    reference.override_notice_type("subsidy_payout", roster_schema=[*schema[:at], AGENT_COLUMN, *schema[at:]])
