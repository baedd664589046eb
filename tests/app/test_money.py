"""Money and quantity parsing: exact, half-up to the fen, and silent about rejected input."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.money import (
    amount_in_words,
    compute_amount_fen,
    format_quantity,
    format_yuan,
    parse_money_fen,
    parse_quantity,
    to_decimal,
)

D = Decimal


# ---------------------------------------------------------------- to_decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.5", "12.5"),
        ("  12.5\u3000", "12.5"),
        ("１２．５", "12.5"),  # full-width digits and point
        ("1,216.48", "1216.48"),
        ("１，２１６．４８", "1216.48"),  # full-width comma between digit groups
        ("1,216,000", "1216000"),
        ("￥1,216.48", "1216.48"),
        ("12.5亩", "12.5"),
        ("12.5 亩", "12.5"),
        ("103.55元/亩", "103.55"),
        ("3户", "3"),
        ("-3", "-3"),
        ("－3", "-3"),  # full-width minus
        (".5", "0.5"),
        (7, "7"),
        (D("2.50"), "2.50"),
    ],
)
def test_to_decimal_accepts_clerk_input(value: object, expected: str) -> None:
    assert to_decimal(value) == D(expected)


def test_float_from_spreadsheet_goes_through_repr_not_binary_value() -> None:
    result = to_decimal(12.35)
    assert str(result) == "12.35"  # Decimal(12.35) would be 12.3499999999999996447…
    assert parse_money_fen(1216.48) == 121648  # 1216.48 * 100 == 121647.99999999999 in floats


def test_float_formula_residue_is_kept_exactly_not_guessed() -> None:
    # 0.1 + 0.2 really is 0.30000000000000004 as a double; to_decimal does not pretend otherwise,
    # so a quantity cell holding it is refused (too many places) instead of silently rounded.
    assert to_decimal(0.1 + 0.2) == D("0.30000000000000004")
    assert parse_money_fen(0.1 + 0.2) == 30
    with pytest.raises(ValueError):
        parse_quantity(0.1 + 0.2)


def test_custom_unit_set_replaces_the_common_one() -> None:
    assert to_decimal("3吨", units={"吨"}) == 3
    with pytest.raises(ValueError):
        to_decimal("3亩", units={"吨"})


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        float("nan"),
        float("inf"),
        float("-inf"),
        D("NaN"),
        D("Infinity"),
        D("sNaN"),
        "nan",
        "inf",
        "Infinity",
        "",
        "   ",
        "元",
        None,
        "1e5",
        "12.5.3",
        "12,34",  # not thousands grouping: might be a European decimal comma
        "1,2345.6",
        "十二",
        "12。5",
        "12.5公斤",
        "-",
        datetime.date(2024, 1, 1),
        D("1E+20"),
    ],
)
def test_to_decimal_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        to_decimal(value)


def test_rejection_message_does_not_echo_input() -> None:
    text = "身份证11010519491231002X误填在金额列"
    with pytest.raises(ValueError) as info:
        to_decimal(text)
    message = str(info.value)
    assert "110105" not in message
    assert all(text[i : i + 21] not in message for i in range(len(text) - 20))


# ---------------------------------------------------------------- parse_money_fen


@pytest.mark.parametrize(
    ("value", "unit", "fen"),
    [
        ("1216.48", "元", 121648),
        ("0.005", "元", 1),  # half-up, not banker's rounding (which gives 0)
        ("0.015", "元", 2),
        ("2.675", "元", 268),  # round(2.675, 2) == 2.67 with floats
        ("1.0049", "元", 100),
        ("1.004999", "元", 100),
        ("-0.005", "元", -1),  # half away from zero
        ("2.5", "万元", 2500000),
        ("1.23456", "万元", 1234560),
        ("0.000001", "万元", 1),
        ("1.5万元", "元", 1500000),  # a unit written in the cell wins over the column's
        ("300元", "万元", 30000),
        (15, "元", 1500),
    ],
)
def test_parse_money_fen(value: object, unit: str, fen: int) -> None:
    result = parse_money_fen(value, unit)
    assert result == fen
    assert type(result) is int


@pytest.mark.parametrize(("value", "unit"), [("3亩", "元"), ("100元/亩", "元"), ("1", "亩")])
def test_parse_money_fen_refuses_other_units(value: str, unit: str) -> None:
    with pytest.raises(ValueError):
        parse_money_fen(value, unit)


# ---------------------------------------------------------------- quantities


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("12.50", "亩", "12.5"),
        ("10.000", "亩", "10"),
        ("1000", "亩", "1000"),  # never '1E+3'
        ("0.0001", "亩", "0.0001"),
        ("1.5", "公顷", "22.5"),
        ("2", "公顷", "30"),
        ("0.0001", "公顷", "0.0015"),
        ("2公顷", "亩", "30"),  # written unit converts into the column's 亩
        ("3亩", "公顷", "3"),  # a 公顷 column still yields 亩
        ("12", "人", "12"),
        ("-0.0", "亩", "0"),
    ],
)
def test_parse_quantity(value: str, unit: str, expected: str) -> None:
    result = parse_quantity(value, unit)
    assert str(result) == expected


@pytest.mark.parametrize(
    ("value", "unit"), [("1.23456", "亩"), ("0.00001", "公顷"), ("5亩", "人"), ("5元", "亩")]
)
def test_parse_quantity_refuses_lossy_or_foreign_input(value: str, unit: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(value, unit)


@pytest.mark.parametrize(
    ("quantity", "text"),
    [
        (D("12.50"), "12.5"),
        (D("1E+1"), "10"),
        (D("0.0001"), "0.0001"),
        (D("100"), "100"),
        (D("-0.00"), "0"),
        (D("1E-4"), "0.0001"),
    ],
)
def test_format_quantity(quantity: Decimal, text: str) -> None:
    assert format_quantity(quantity) == text


# ---------------------------------------------------------------- arithmetic and formatting


def test_compute_amount_fen_example_from_a_notice() -> None:
    # 12.35 亩 × 103.55 元/亩 = 1278.8425 元
    assert compute_amount_fen(D("12.35"), D("103.55")) == 127884


@pytest.mark.parametrize(
    ("quantity", "rate", "fen"),
    [
        (D("0.5"), D("0.01"), 1),  # 0.5 fen exactly: half-up
        (D("3"), D("0.335"), 101),  # 100.5 fen
        (D("2.5"), D("0.1"), 25),
        (7, D("37700"), 26390000),
        (D("0.0001"), D("0.00001"), 0),
    ],
)
def test_compute_amount_fen_rounding(quantity: Decimal, rate: Decimal, fen: int) -> None:
    assert compute_amount_fen(quantity, rate) == fen


def test_compute_amount_fen_refuses_float() -> None:
    with pytest.raises(TypeError):
        compute_amount_fen(12.35, D("1"))  # type: ignore[arg-type]


def _scaled_decimals() -> st.SearchStrategy[tuple[int, int]]:
    return st.tuples(st.integers(-(10**12), 10**12), st.integers(0, 6))


@given(_scaled_decimals(), _scaled_decimals())
def test_compute_amount_fen_is_exact_product_rounded_half_up(
    q: tuple[int, int], r: tuple[int, int]
) -> None:
    (q_int, q_places), (r_int, r_places) = q, r
    quantity = D(q_int).scaleb(-q_places)
    rate = D(r_int).scaleb(-r_places)
    # Integer-only oracle: fen = q_int * r_int * 100 / 10**(places), half away from zero.
    numerator, denominator = abs(q_int * r_int * 100), 10 ** (q_places + r_places)
    expected = (2 * numerator + denominator) // (2 * denominator)
    if q_int * r_int < 0:
        expected = -expected
    assert compute_amount_fen(quantity, rate) == expected


@pytest.mark.parametrize(
    ("fen", "thousands", "text"),
    [
        (121648, True, "1,216.48"),
        (0, True, "0.00"),
        (5, True, "0.05"),
        (-121648, True, "-1,216.48"),
        (-5, True, "-0.05"),
        (123456789, True, "1,234,567.89"),
        (123456789, False, "1234567.89"),
    ],
)
def test_format_yuan(fen: int, thousands: bool, text: str) -> None:
    assert format_yuan(fen, thousands) == text


@given(st.integers(-(10**16), 10**16))
def test_format_yuan_round_trips_through_parse(fen: int) -> None:
    assert parse_money_fen(format_yuan(fen)) == fen


# ---------------------------------------------------------------- 大写


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (121648, "壹仟贰佰壹拾陆元肆角捌分"),
        (10000, "壹佰元整"),
        (5, "伍分"),
        (1000000000, "壹仟万元整"),
        (100010, "壹仟元壹角整"),  # cn2an gives '壹仟元壹角'; 会计基础工作规范 wants 整 after 角
        (10, "壹角整"),
        (0, "零元整"),
        (10005, "壹佰元零伍分"),  # 角 is 0 and 分 is not: 零 after 元
        (101000, "壹仟零壹拾元整"),
        (60071400, "陆拾万零柒佰壹拾肆元整"),
        (3250400, "叁万贰仟伍佰零肆元整"),
        (101000000, "壹佰零壹万元整"),
        (100000001, "壹佰万元零壹分"),
        (10000000000, "壹亿元整"),
        (10001000000, "壹亿零壹万元整"),
        (-5000, "负伍拾元整"),
    ],
)
def test_amount_in_words(fen: int, words: str) -> None:
    assert amount_in_words(fen) == words


_DIGITS = dict(zip("零壹贰叁肆伍陆柒捌玖", range(10), strict=True))
_SMALL_UNITS = {"拾": 10, "佰": 100, "仟": 1000}


def _words_to_fen(words: str) -> int:
    """Independent reader of 大写 amounts, to check values rather than wording."""
    sign = -1 if words.startswith("负") else 1
    words = words.removeprefix("负").removesuffix("整")
    yuan_words, _, cents_words = words.rpartition("元") if "元" in words else ("", "", words)
    total = section = digit = 0
    for ch in yuan_words:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _SMALL_UNITS:
            section, digit = section + digit * _SMALL_UNITS[ch], 0
        elif ch == "万":
            section, digit = (section + digit) * 10**4, 0
        elif ch == "亿":
            total, section, digit = (total + section + digit) * 10**8, 0, 0
    yuan = total + section + digit
    cents, digit = 0, 0
    for ch in cents_words:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch == "角":
            cents, digit = cents + 10 * digit, 0
        elif ch == "分":
            cents, digit = cents + digit, 0
    return sign * (yuan * 100 + cents)


@given(st.integers(-(10**17) + 1, 10**17 - 1))
def test_amount_in_words_reads_back_to_the_same_amount(fen: int) -> None:
    words = amount_in_words(fen)
    assert _words_to_fen(words) == fen
    assert words.endswith(("整", "分"))


def test_amount_in_words_refuses_what_cn2an_cannot_write() -> None:
    with pytest.raises(ValueError):
        amount_in_words(10**18)
    with pytest.raises(TypeError):
        amount_in_words(12.5)  # type: ignore[arg-type]


def test_half_up_is_the_rule_everywhere() -> None:
    # The same tie rounds the same way whether it comes from parsing or from multiplying.
    assert parse_money_fen("0.125") == compute_amount_fen(D("0.125"), D("1")) == 13
