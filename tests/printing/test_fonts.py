"""Font discovery and the refusal of fonts that cannot be embedded."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from printing.errors import PrintError
from printing.fonts import FONT_ENV, check_font_file, default_measure, find_cjk_font, sfnt_faces

WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DROID = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")


def _otf(path: Path) -> Path:
    """The head of an OpenType font with CFF outlines ('OTTO', a 'CFF ' table)."""
    tables = [b"CFF ", b"cmap", b"head", b"maxp"]
    data = b"OTTO" + struct.pack(">HHHH", len(tables), 64, 2, 0)
    for i, tag in enumerate(tables):
        data += tag + struct.pack(">III", 0, 12 + 16 * len(tables) + i * 4, 4)
    path.write_bytes(data + b"\0" * 16)
    return path


@pytest.fixture(autouse=True)
def _no_font_env(monkeypatch):
    monkeypatch.delenv(FONT_ENV, raising=False)


def test_discovery_picks_a_song_face_on_this_machine():
    """宋体-style AR PL UMing (its mainland face) over the sans-serif WenQuanYi, both installed."""
    font = find_cjk_font()
    assert font.path.name == "uming.ttc" and font.subfont_index == 0
    assert sfnt_faces(font.path) == ["truetype"] * 4
    assert WQY.exists()


def test_discovery_skips_a_font_without_digits(tmp_path):
    """Droid Sans Fallback has Chinese but no digits or Latin letters: amounts, dates and page
    numbers would vanish."""
    shutil.copy(DROID, tmp_path / DROID.name)
    with pytest.raises(PrintError) as err:
        find_cjk_font(search_dirs=[tmp_path])
    assert "找不到可用于打印的中文字体" in str(err.value)
    shutil.copy(WQY, tmp_path / WQY.name)
    assert find_cjk_font(search_dirs=[tmp_path]).path.name == WQY.name


def test_a_configured_font_without_digits_is_refused_naming_what_it_lacks():
    with pytest.raises(PrintError) as err:
        check_font_file(DROID)
    message = str(err.value)
    assert "“DroidSansFallbackFull.ttf”" in message and "数字" in message and "拉丁字母" in message
    assert "\n" not in message


def test_rare_characters_come_from_fallback_fonts_of_the_system():
    measure = default_measure()
    assert measure.font.face.name == b"UMingCN"
    fonts = {text: font.face.name for font, text in measure.runs("王㑇𠮷")}
    assert fonts["王㑇"] == b"UMingCN"  # Extension A is in the body font
    assert fonts["𠮷"].startswith(b"HanaMin")  # Extension B is not


def test_a_cff_font_is_refused_with_advice(tmp_path):
    otf = _otf(tmp_path / "NotoSansCJKsc-Regular.otf")
    assert sfnt_faces(otf) == ["cff"]
    with pytest.raises(PrintError) as err:
        find_cjk_font(otf)
    assert "OpenType/CFF" in str(err.value) and "TrueType" in str(err.value)
    assert "fonts-wqy-microhei" in str(err.value)


def test_a_missing_configured_font_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "simsun.ttc"))
    with pytest.raises(PrintError) as err:
        find_cjk_font()
    assert "找不到指定的打印字体文件“simsun.ttc”" in str(err.value)
    assert "simsun.ttc" in err.value.details


def test_a_font_without_chinese_is_refused():
    with pytest.raises(PrintError) as err:
        check_font_file(DEJAVU)
    assert "不是可嵌入的 TrueType 中文字体" in str(err.value)


def test_no_usable_font_says_how_to_install_one(tmp_path):
    _otf(tmp_path / "SourceHanSans.otf")
    with pytest.raises(PrintError) as err:
        find_cjk_font(search_dirs=[tmp_path])
    assert "找不到可用于打印的中文字体" in str(err.value)
    assert "apt-get install fonts-arphic-uming fonts-hanazono fonts-wqy-microhei" in str(err.value)


def test_a_configured_collection_is_used():
    font = check_font_file(WQY)
    assert font.path == WQY and font.subfont_index == 0


@pytest.mark.parametrize("platform, env, folder", [
    ("win32", {"WINDIR": "{tmp}/Windows", "LOCALAPPDATA": "{tmp}/Local"}, "Windows/Fonts"),
    ("darwin", {"HOME": "{tmp}/home"}, "home/Library/Fonts"),
])
def test_discovery_on_windows_and_macos_prefers_the_customary_faces_and_skips_cff(
        tmp_path, monkeypatch, platform, env, folder):
    """The folders and preferences of other systems, with this machine's WenQuanYi standing in
    for their fonts under their names (SimSun/YaHei on Windows, Songti on macOS)."""
    import sys

    from printing.fonts import font_dirs

    monkeypatch.setattr(sys, "platform", platform)
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    fonts = tmp_path / folder
    fonts.mkdir(parents=True)
    _otf(fonts / "NotoSansCJKsc-Regular.otf")  # CFF outlines: never chosen, even though CJK
    shutil.copy(DEJAVU, fonts / "arial.ttf")  # no Chinese
    names = ("msyh.ttc", "simsun.ttc") if platform == "win32" else ("PingFang.ttc", "Songti.ttc")
    for name in names:
        shutil.copy(WQY, fonts / name)
    assert fonts in font_dirs()
    font = find_cjk_font(search_dirs=font_dirs())
    assert font.path == fonts / names[1]  # 宋体 first: the customary face of official notices
    (fonts / names[1]).unlink()
    assert find_cjk_font(search_dirs=font_dirs()).path == fonts / names[0]
