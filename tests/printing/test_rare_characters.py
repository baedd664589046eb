"""Rare characters in names (CJK Extension A and beyond) are printed, with a font that has them,
and can be read back from the text layer; a character no installed font has stops printing
with a message naming the row and the character; a font without digits is refused."""

from __future__ import annotations

import sqlite3
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from app.settings import set_local
from printing.errors import PrintError, UnprintableCharacter
from printing.fonts import FONT_ENV, default_measure
from printing.service import FONT_SETTING, PrintService
from tests.app.world import make_world
from tests.printing.pdfcheck import drawn_characters, page_texts, squeeze
from tests.test_cli import notices, run

#: names with a character of Extension A (㑇 䶮), B (𠮷), D (𫗧) and one added to the basic block
#: late (鿏, Unicode 6.1): one font rarely has them all
RARE_NAMES = ("王㑇", "王𠮷", "王䶮", "李𫗧", "张鿏")
RARE = "㑇𠮷䶮𫗧鿏"
#: a code point no font has: in the range of CJK Extension G that names may use, but unassigned
NO_FONT = "\U0003134f"
DROID = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")


@pytest.fixture(autouse=True)
def _no_font_env(monkeypatch):
    monkeypatch.delenv(FONT_ENV, raising=False)


def _notice(w, names: list[str], remarks: dict[int, str] | None = None) -> str:
    """A draft whose rows carry ``names`` in order (and ``remarks`` by row number from 1)."""
    rows = [replace(r, name=n, remark=(remarks or {}).get(i, "")) for i, (r, n) in
            enumerate(zip(w.rows(len(names)), names, strict=True), start=1)]
    nid = w.notices.create(w.clerk, notice_type_id=w._type(w.program_id), program_id=w.program_id,
                           village_id=w.village_id)
    w.notices.add_rows(nid, w.clerk, rows)
    return nid


def _names(count: int, **special: str) -> list[str]:
    ordinary = ["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴霞", "徐明", "孙丽",
                "马超", "朱红", "胡军"]
    names = ordinary[:count]
    for k, name in special.items():
        names[int(k[1:]) - 1] = name
    return names


def _text_layers(pdf: Path) -> list[str]:
    poppler = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                             check=True).stdout
    return [squeeze("".join(page_texts(pdf))), squeeze(poppler)]


def test_rare_names_are_in_the_text_layer_and_drawn_with_a_font_that_has_them(ctx, tmp_path):
    w = make_world(ctx)
    names = [*RARE_NAMES, *_names(10)]
    pdf = tmp_path / "notice.pdf"
    PrintService(ctx).print_notice(_notice(w, names), pdf)

    for layer in _text_layers(pdf):
        for name in names:
            assert name in layer, name
    drawn = drawn_characters(pdf)
    assert all(ch for ch, _font, _ok in drawn), "a drawn code stands for no character in the text layer"
    for ch in RARE:
        fonts = {font for c, font, ok in drawn if c == ch and ok}
        assert fonts, f"{ch} (U+{ord(ch):04X}) is not drawn with a glyph of its own"
    # nothing on the page is drawn as a blank: every visible character has its glyph
    blank = {(ch, font) for ch, font, ok in drawn if ch.strip() and not ok}
    assert not blank, blank
    # amounts, dates and page numbers are there too
    assert any(ch.isdigit() and ok for ch, _font, ok in drawn)


def test_each_run_is_measured_and_drawn_in_the_font_that_has_it():
    measure = default_measure()
    runs = measure.runs("王𠮷1号")
    assert [text for _font, text in runs] == ["王", "𠮷", "1号"]
    body, fallback = runs[0][0], runs[1][0]
    assert body is measure.font and fallback is not body and runs[2][0] is body
    for ch in RARE:
        (font, _text), = measure.runs(ch)
        assert ord(ch) in font.face.charToGlyph
        assert measure.em(ch) == font.face.charWidths.get(ord(ch), font.face.defaultWidth) / 1000


def test_a_character_no_font_has_stops_printing_and_names_row_and_character(ctx, tmp_path):
    w = make_world(ctx)
    nid = _notice(w, _names(14, n12="王" + NO_FONT))
    pdf = tmp_path / "notice.pdf"
    with pytest.raises(UnprintableCharacter) as err:
        PrintService(ctx).print_notice(nid, pdf)
    message = str(err.value)
    assert "第 12 行" in message and f"户主姓名“王{NO_FONT}”" in message
    assert f"“{NO_FONT}”（U+3134F）" in message and "没有任何已安装的字体" in message
    assert "\n" not in message
    assert not pdf.exists() and not list(tmp_path.glob(".print-*"))


def test_in_a_remark_the_message_names_the_person_too(ctx, tmp_path):
    w = make_world(ctx)
    nid = _notice(w, _names(5), remarks={3: "代领\U0010fffd"})
    with pytest.raises(UnprintableCharacter) as err:
        PrintService(ctx).print_notice(nid, tmp_path / "notice.pdf")
    message = str(err.value)
    assert "第 3 行（王芳）备注“代领\U0010fffd”" in message and "U+10FFFD" in message


def test_a_configured_font_without_digits_is_refused(ctx, tmp_path, monkeypatch):
    w = make_world(ctx)
    nid = _notice(w, _names(5))
    monkeypatch.setenv(FONT_ENV, str(DROID))
    with pytest.raises(PrintError) as err:
        PrintService(ctx).print_notice(nid, tmp_path / "notice.pdf")
    message = str(err.value)
    assert "DroidSansFallbackFull.ttf" in message and "数字" in message and "拉丁字母" in message
    assert not (tmp_path / "notice.pdf").exists()
    monkeypatch.delenv(FONT_ENV)
    with ctx.write():
        set_local(FONT_SETTING, str(DROID))
    with pytest.raises(PrintError) as err:
        PrintService(ctx).print_notice(nid, tmp_path / "notice.pdf")
    assert "DroidSansFallbackFull.ttf" in str(err.value) and "数字" in str(err.value)


def test_the_command_line_stops_with_one_line_naming_row_and_character(demo_dir, tmp_path, monkeypatch):
    draft = next(n for n in notices(demo_dir) if n["status"] == "draft" and n["rows"] >= 12)
    conn = sqlite3.connect(demo_dir / "gongkai.sqlite3")
    conn.execute("UPDATE roster_row SET name = ? WHERE notice_id = ? AND seq = 12", ("王" + NO_FONT, draft["id"]))
    conn.commit()
    conn.close()
    out = tmp_path / "n.pdf"
    failed = run("print", draft["id"], "--data-dir", str(demo_dir), "-o", str(out))
    assert failed.returncode == 1 and failed.stderr.count("\n") == 1, failed.stderr
    assert "第 12 行" in failed.stderr and "U+3134F" in failed.stderr and not out.exists()

    monkeypatch.setenv(FONT_ENV, str(DROID))
    refused = run("print", draft["id"], "--data-dir", str(demo_dir), "-o", str(out))
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "DroidSansFallbackFull.ttf" in refused.stderr and "数字" in refused.stderr and not out.exists()
