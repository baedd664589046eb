"""Cell checks for rosters. ID numbers are built with the GB 11643 check digit computed here,
independently of stdnum, and no message may ever carry a piece of the number it describes."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from app.validation import (
    Issue,
    check_amount,
    check_id_number,
    check_name,
    check_phone,
    normalize_id_number,
    normalize_name,
    normalize_phone,
)

# GB 11643-1999: weight of position i (from the left, 0-based) is 2**(17-i) mod 11, and the
# check character is '10X98765432'[sum mod 11].
_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def gb11643(first17: str) -> str:
    """The full 18-character number for 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def wrong_check(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def codes(issues: tuple[Issue, ...]) -> list[str]:
    return [issue.code for issue in issues]


TODAY = date(2025, 6, 1)
PUBLIC_EXAMPLE = "11010519491231002X"  # the worked example of GB 11643


def test_own_check_digit_reproduces_the_public_example() -> None:
    assert _WEIGHTS == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    assert gb11643(PUBLIC_EXAMPLE[:17]) == PUBLIC_EXAMPLE
    assert gb11643("36042619910101007") == "360426199101010071"  # stdnum's doc example


# ---------------------------------------------------------------- ID numbers


@pytest.mark.parametrize(
    "text",
    [
        PUBLIC_EXAMPLE,
        "11010519491231002x",
        "１１０１０５１９４９１２３１００２Ｘ",
        "１１０１０５１９４９１２３１００２ｘ",
        " 110105 19491231 002X\t",
        "110105\u300019491231002X",
    ],
)
def test_valid_id_in_any_clerk_spelling(text: str) -> None:
    result = check_id_number(text, today=TODAY)
    assert result.normalized == PUBLIC_EXAMPLE
    assert result.issues == ()
    assert result.birth_date == date(1949, 12, 31)
    assert not result.legacy15
    assert not result.has_errors


@pytest.mark.parametrize(
    "first17",
    ["35048119650315123", "36042619910101007", "61102119800229004", "11010520000229001"],
)
def test_generated_valid_ids_pass(first17: str) -> None:
    assert check_id_number(gb11643(first17), today=TODAY).issues == ()


def test_region_code_newer_than_the_birth_year_is_not_flagged() -> None:
    # 永安市 got code 350481 in 1989; people born earlier carry it because cards take the code
    # current when issued. stdnum's own validate() rejects such numbers.
    number = gb11643("35048119650315123")
    assert not ric.is_valid(number)
    assert check_id_number(number, today=TODAY).issues == ()


def test_wrong_check_digit() -> None:
    for last in "0123456789X":
        number = PUBLIC_EXAMPLE[:17] + last
        result = check_id_number(number, today=TODAY)
        if last == "X":
            assert result.issues == ()
            continue
        assert codes(result.issues) == ["id_checksum"]
        assert result.issues[0].severity == "error"
        assert result.has_errors


def test_transposed_digits_are_caught_by_the_check_digit() -> None:
    good = gb11643("35048119650315123")
    swapped = good[:7] + good[8] + good[7] + good[9:]  # 1965 -> 1695
    assert "id_checksum" in codes(check_id_number(swapped, today=TODAY).issues)


def test_legacy_15_digit_number_is_a_warning() -> None:
    result = check_id_number("110105491231002", today=TODAY)
    assert codes(result.issues) == ["id_legacy15"]
    assert result.issues[0].severity == "warning"
    assert "18位" in result.issues[0].message
    assert result.legacy15
    assert result.birth_date == date(1949, 12, 31)
    assert not result.has_errors


def test_legacy_15_digit_number_with_impossible_date() -> None:
    result = check_id_number("110105490230002", today=TODAY)
    assert codes(result.issues) == ["id_legacy15", "id_birth_date"]
    assert result.birth_date is None


def test_future_birth_date() -> None:
    number = gb11643("11010520300101001")
    result = check_id_number(number, today=TODAY)
    assert codes(result.issues) == ["id_birth_date"]
    assert result.birth_date is None
    assert check_id_number(number, today=date(2030, 1, 1)).issues == ()


@pytest.mark.parametrize("day", ["19900230", "19900229", "19000229", "19901301", "18991231"])
def test_impossible_birth_date(day: str) -> None:
    result = check_id_number(gb11643(f"110105{day}001"), today=TODAY)
    assert codes(result.issues) == ["id_birth_date"]
    assert result.birth_date is None


def test_unknown_region_is_only_a_warning() -> None:
    for first17 in ("99000019900101001", "11999919900101001"):  # stdnum: InvalidComponent, KeyError
        result = check_id_number(gb11643(first17), today=TODAY)
        assert codes(result.issues) == ["id_region"]
        assert result.issues[0].severity == "warning"
        assert not result.has_errors


def test_region_abolished_before_birth_is_flagged() -> None:
    # 崇文区 (110103) was merged into 东城区 in 2010.
    assert check_id_number(gb11643("11010320050101001"), today=TODAY).issues == ()
    born_later = check_id_number(gb11643("11010320150101001"), today=TODAY)
    assert codes(born_later.issues) == ["id_region"]


@pytest.mark.parametrize(
    "text",
    [
        "1101051949123100",  # 16
        "11010519491231002",  # 17
        "11010519491231002X1",  # 19
        "1101051949123100X2",  # X not last
        "11010549123100X",  # 15 digits never end in X
        "11010519491231002Y",
        "身份证号码",
        "-",
    ],
)
def test_bad_format(text: str) -> None:
    result = check_id_number(text, today=TODAY)
    assert codes(result.issues) == ["id_format"]
    assert result.birth_date is None


@pytest.mark.parametrize("text", ["", "   ", "\u3000"])
def test_missing_id(text: str) -> None:
    assert codes(check_id_number(text, today=TODAY).issues) == ["missing_value"]


def test_normalize_id_number() -> None:
    assert normalize_id_number(" ３５０４８１ 19650315123x ") == "35048119650315123X"
    assert normalize_id_number("x") == "X"
    assert normalize_id_number("") == ""


def _digit_runs(text: str) -> set[str]:
    return {text[i : i + 6] for i in range(len(text) - 5)}


def _assert_private(text: str, issues: tuple[Issue, ...]) -> None:
    for issue in issues:
        assert not re.search(r"\d{6}", issue.message)
        for run in _digit_runs(normalize_id_number(text)) | _digit_runs(text):
            assert run not in issue.message


@given(
    st.text("0123456789", min_size=17, max_size=17),
    st.sampled_from("0123456789Xx"),
    st.booleans(),
)
def test_no_message_reveals_any_part_of_the_number(first17: str, last: str, fix: bool) -> None:
    number = gb11643(first17) if fix else first17 + last
    _assert_private(number, check_id_number(number, today=TODAY).issues)


@given(st.text("0123456789Xx０１２３４５６７８９Ｘ -", max_size=24))
def test_no_message_reveals_digits_of_malformed_input(text: str) -> None:
    _assert_private(text, check_id_number(text, today=TODAY).issues)


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("dot", [".", "\u00b7", "\u2022", "\u30fb", "\u2027", "\uff0e", "\uff65"])
def test_middle_dot_variants_become_u00b7(dot: str) -> None:
    assert normalize_name(f"阿依古丽{dot}买买提") == "阿依古丽·买买提"
    assert check_name(f"阿依古丽{dot}买买提") == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" 张三 ", "张三"),
        ("张 三", "张三"),
        ("张\u3000三", "张三"),
        ("王 小 明", "王小明"),
        ("阿依古丽 · 买买提", "阿依古丽·买买提"),
        ("Ａｎｎａ  Ｍａｒｉａ", "Anna Maria"),
    ],
)
def test_normalize_name(text: str, expected: str) -> None:
    assert normalize_name(text) == expected


@pytest.mark.parametrize("text", ["张三", "欧阳娜娜", "𠮷田", "José Martín", "Anna Maria", "李〇"])
def test_good_names(text: str) -> None:
    assert check_name(text) == ()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "missing_value"),
        ("  ", "missing_value"),
        ("张三1", "bad_name"),
        ("张三１", "bad_name"),
        ("张@三", "bad_name"),
        ("张三（户主）", "bad_name"),
        ("·买买提", "bad_name"),
        ("阿依古丽··买买提", "bad_name"),
    ],
)
def test_bad_names(text: str, code: str) -> None:
    issues = check_name(text)
    assert codes(issues) == [code]
    assert issues[0].column == "name"
    assert issues[0].severity == "error"


# ---------------------------------------------------------------- phones


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("13812341234", "13812341234"),
        ("138 1234 1234", "13812341234"),
        ("１３８－１２３４－１２３４", "13812341234"),
        ("+86 138-1234-1234", "13812341234"),
        ("0915-5212830", "0915-5212830"),
        ("0915 5212830", "0915-5212830"),
        ("09155212830", "0915-5212830"),
        ("(0915)5212830", "0915-5212830"),
        ("010-62345678", "010-62345678"),
    ],
)
def test_good_phones(text: str, normalized: str) -> None:
    assert normalize_phone(text) == normalized
    assert check_phone(text) == ()


@pytest.mark.parametrize("text", ["", "   "])
def test_phone_is_optional(text: str) -> None:
    assert check_phone(text) == ()


@pytest.mark.parametrize(
    "text", ["1381234123", "138123412345", "12812341234", "5212830", "0915-0212830", "电话"]
)
def test_bad_phones_never_echo_the_number(text: str) -> None:
    issues = check_phone(text)
    assert codes(issues) == ["bad_phone"]
    assert issues[0].column == "phone"
    _assert_private(text, issues)


# ---------------------------------------------------------------- amounts

D = Decimal


def test_amount_matches_quantity_times_rate() -> None:
    assert check_amount(D("12.35"), D("103.55"), 127884) == ()


def test_amount_mismatch_states_the_expected_amount() -> None:
    [issue] = check_amount(D("12.35"), D("103.55"), 127885)
    assert (issue.column, issue.code, issue.severity) == ("amount", "amount_mismatch", "error")
    assert issue.message == '金额与"数量×标准"不符：应为 1,278.84 元'


def test_issues_are_kept_in_chinese_and_shown_in_the_clerks_language() -> None:
    """A row's issues are stored and synced: one workstation in English must not leave English
    text for the next one in Chinese, and each shows them in its own language."""
    from app.i18n import set_language
    from app.rows import duplicate_issues, issue_dicts
    from app.validation import issue_text

    set_language("en")
    try:
        [amount] = check_amount(D("12.35"), D("103.55"), 127885)
        [name] = check_name("")
        dups = duplicate_issues([("r1", "x"), ("r2", "x")], {"x": ["关于青石村的公示"]})
        stored = issue_dicts([amount, name, *dups["r1"]])
        assert [d["message"] for d in stored] == [
            '金额与"数量×标准"不符：应为 1,278.84 元', "姓名未填写", "同一身份证号码在本公示中出现 2 次",
            "同一项目同一年度的其他公示中已有此身份证号码（一人多领？）：关于青石村的公示"]
        shown = [issue_text(d) for d in stored]
        assert shown[:3] == ['Amount does not match "quantity × rate": it should be 1,278.84 yuan',
                             "Name is missing", "The same ID number appears 2 times in this notice"]
        assert shown[3].endswith("关于青石村的公示") and "ID number" in shown[3]
        assert issue_text(amount) == shown[0]
    finally:
        set_language("zh_CN")
    assert [issue_text(d) for d in stored] == [d["message"] for d in stored]


@pytest.mark.parametrize(
    ("quantity", "rate", "amount"),
    [(None, D("1"), 100), (D("1"), None, 100), (D("1"), D("1"), None), (None, None, None)],
)
def test_amount_check_needs_all_three(
    quantity: Decimal | None, rate: Decimal | None, amount: int | None
) -> None:
    assert check_amount(quantity, rate, amount) == ()


def test_negative_numbers() -> None:
    issues = check_amount(D("-1"), D("10"), -1000)
    assert [(i.column, i.code) for i in issues] == [
        ("quantity", "bad_number"),
        ("amount", "bad_number"),
    ]
    assert codes(check_amount(None, None, -1)) == ["bad_number"]
