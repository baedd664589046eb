"""Masking policy: the default reproduces the 永安 format of DOMAIN.md §3, and no county
configuration can turn the 'mask' into a disclosure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.masking import PERSONAL_FIELDS, MaskPolicy, mask_id, mask_phone
from tests.app.test_validation import gb11643
from tests.spellings import WORDS, personal_number, recoverable


def _valid_id_ending_in_123() -> str:
    """A valid 永安 (350481) number whose last three characters are '123', as in DOMAIN.md."""
    for day in range(1, 29):
        for first_seq in "0123456789":
            number = gb11643(f"350481196503{day:02d}{first_seq}12")
            if number.endswith("123"):
                return number
    raise AssertionError("no such number")  # pragma: no cover


def test_default_policy_reproduces_the_yongan_format() -> None:
    number = _valid_id_ending_in_123()
    assert mask_id(number, MaskPolicy()) == "35*************123"


def test_default_policy_masks_phones_like_yongan() -> None:
    assert mask_phone("13812341234", MaskPolicy()) == "138****1234"
    assert mask_phone("138 1234 1234", MaskPolicy()) == "138****1234"
    assert mask_phone("+86 138-1234-1234", MaskPolicy()) == "138****1234"


def test_default_policy_hides_the_id_column() -> None:
    assert MaskPolicy().show_id_column is False


@pytest.mark.parametrize(
    ("pattern", "head", "tail"),
    [
        ("22*************123", 2, 3),
        ("35*************123", 2, 3),
        ("XXXXXX********XXXX", 6, 4),
        ("440308********1234", 6, 4),
        ("22＊＊＊＊＊＊＊＊＊＊＊＊＊123", 2, 3),  # typed with full-width asterisks
        ("******************", 0, 0),
        ("2+3", 2, 3),
        ("6+4", 6, 4),
        (" 7+3 ", 7, 3),  # exactly 8 hidden
    ],
)
def test_from_pattern(pattern: str, head: int, tail: int) -> None:
    policy = MaskPolicy.from_pattern(pattern)
    assert (policy.id_keep_head, policy.id_keep_tail) == (head, tail)
    assert (policy.phone_keep_head, policy.phone_keep_tail) == (3, 4)


def test_from_pattern_equals_the_default_for_the_yongan_pattern() -> None:
    assert MaskPolicy.from_pattern("22*************123") == MaskPolicy()
    assert MaskPolicy.from_pattern("2+3", show_id_column=True) == MaskPolicy(show_id_column=True)


def test_six_plus_four_policy() -> None:
    number = gb11643("44030819800101123")
    masked = mask_id(number, MaskPolicy.from_pattern("6+4"))
    assert masked == "440308********" + number[-4:]


@pytest.mark.parametrize(
    "pattern",
    [
        "8+3",  # only 7 of 18 hidden
        "10+4",
        "17+0",
        "3504811965****1234",
        "35048119650315***X",
        "22*************12",  # 17 characters: not a full pattern
        "22****123",
        "22**1**123",
        "",
        "abc",
        "2-3",
    ],
)
def test_pattern_that_reveals_too_much_or_is_malformed_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        MaskPolicy.from_pattern(pattern)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"id_keep_head": 10, "id_keep_tail": 4},
        {"id_keep_head": -1},
        {"phone_keep_head": 3, "phone_keep_tail": 5},
        {"phone_keep_head": 7, "phone_keep_tail": 4},
    ],
)
def test_policy_constructor_enforces_the_same_limits(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        MaskPolicy(**kwargs)


def test_mask_id_keeps_length_and_handles_empty() -> None:
    assert mask_id("", MaskPolicy()) == ""
    number = gb11643("11010519491231002")
    assert len(mask_id(number, MaskPolicy())) == len(number)


def test_short_values_still_hide_at_least_eight_characters() -> None:
    legacy = "110105491231002"
    masked = mask_id(legacy, MaskPolicy.from_pattern("6+4"))
    assert len(masked) == 15
    assert masked.count("*") == 8
    assert masked.endswith("1002")  # the head gives way first
    assert mask_id("12345", MaskPolicy()) == "*****"


@given(
    st.integers(0, 10),
    st.integers(0, 10),
    st.text("0123456789", min_size=17, max_size=17),
)
def test_every_accepted_policy_hides_at_least_eight(head: int, tail: int, first17: str) -> None:
    if 18 - head - tail < 8:
        with pytest.raises(ValueError):
            MaskPolicy.from_pattern(f"{head}+{tail}")
        return
    masked = mask_id(gb11643(first17), MaskPolicy.from_pattern(f"{head}+{tail}"))
    assert len(masked) == 18
    assert masked.count("*") == 18 - head - tail >= 8


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("0915-5212830", "0915-****830"),
        ("0915 5212830", "0915-****830"),
        ("010-62345678", "010-****5678"),
        ("5212830", "*******"),  # unrecognised: every digit hidden
        ("电话5212830", "电话*******"),
        ("", ""),
    ],
)
def test_mask_phone_landlines_and_others(phone: str, masked: str) -> None:
    assert mask_phone(phone, MaskPolicy()) == masked


def test_phone_policy_can_be_stricter() -> None:
    policy = MaskPolicy(phone_keep_head=3, phone_keep_tail=2)
    assert mask_phone("13812341234", policy) == "138******34"
    assert mask_phone("0915-5212830", policy) == "0915-*****30"


def test_personal_fields_name_what_is_withheld() -> None:
    assert dict(PERSONAL_FIELDS) == {
        "id_number": "身份证号码",
        "bank_account": "银行/一卡通账号",
        "phone": "联系电话",
        "address": "详细住址",
    }
    with pytest.raises(TypeError):
        PERSONAL_FIELDS["name"] = "姓名"  # type: ignore[index]


# ------------------------------------------------------------------------------ free text
@given(st.lists(st.tuples(WORDS, personal_number()), min_size=1, max_size=3), WORDS)
def test_no_personal_number_survives_in_free_text_however_typed(parts, tail) -> None:
    from app.masking import has_personal_number, mask_free_text

    text = "".join(words + "：" + typed for words, (_number, typed) in parts) + "。" + tail
    masked = mask_free_text(text)
    for _words, (number, typed) in parts:
        assert not recoverable(number, masked), (typed, masked)
    assert has_personal_number(text) and not has_personal_number(masked)
    assert mask_free_text(masked) == masked  # masking again changes nothing


@pytest.mark.parametrize("text", [
    "补贴标准103.55元/亩，合计1,216.48元，文号石政〔2026〕12号",
    "监督电话0872-6123456，公示期2026-11-25至2026-12-01",
    "第１２组，面积８.５亩", "邮编６５５０００",
    "公示期2026-11-25—2026-12-01", "发放时段20261125-20261201", "电话0872-6123456 0872-6123457",
])
def test_ordinary_figures_in_free_text_stay(text: str) -> None:
    from app.masking import has_personal_number, mask_free_text

    assert mask_free_text(text) == text and not has_personal_number(text)
