"""Find a TrueType CJK font, register it with reportlab once, and measure text with it.

reportlab embeds only TrueType (glyf) outlines, subset; OpenType/CFF fonts (most Noto CJK and
Source Han files, Hiragino) are detected from their table directory and skipped, or refused when
configured. Collections (.ttc) are searched face by face. A configured font file wins over
discovery; an unusable configured file is refused, never silently replaced.
"""

from __future__ import annotations

import functools
import os
import struct
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from app.i18n import N_, _
from printing.errors import PrintError

#: environment variable naming a font file (overrides discovery, below an explicit argument)
FONT_ENV = "GONGKAI_FONT"

#: characters every notice uses; a font without them is not a CJK font
_PROBE = "公示村镇补贴金额元亩第页共"

# Preferred files by platform family, most suitable first. SimSun (宋体) is the customary face of
# official notices; YaHei/HeiTi read well small; WenQuanYi and Droid are the usual Linux fonts.
_PREFERRED = (
    "simsun.ttc", "simsun.ttf", "msyh.ttc", "msyh.ttf", "simhei.ttf", "simfang.ttf", "simkai.ttf",
    "msyhl.ttc", "STHeiti Light.ttc", "STHeiti Medium.ttc", "Songti.ttc", "PingFang.ttc",
    "Arial Unicode.ttf", "wqy-microhei.ttc", "wqy-zenhei.ttc", "uming.ttc", "ukai.ttc",
    "DroidSansFallbackFull.ttf", "DroidSansFallback.ttf", "NotoSansSC-Regular.ttf",
    "NotoSerifSC-Regular.ttf", "NotoSansCJK-Regular.ttc", "NotoSerifCJK-Regular.ttc",
)
_HINTS = ("cjk", "sc-", "sc.", "hei", "song", "ming", "kai", "fang", "wqy", "droid", "gb", "yahei", "simsun")
_FONT_SUFFIXES = (".ttf", ".ttc", ".otf", ".otc")

INSTALL_HELP = N_(
    "请安装一款 TrueType 中文字体后重试：Windows 自带宋体（simsun.ttc）或微软雅黑（msyh.ttc）；"
    "Linux 可安装文泉驿微米黑（Debian/Ubuntu：sudo apt-get install fonts-wqy-microhei；"
    "统信 UOS/麒麟：在应用商店搜索“文泉驿”）；也可以在“设置 → 打印字体”中指定一个 .ttf 或 .ttc 字体文件。"
    "注意：OpenType/CFF 字体（.otf，以及大多数思源/Noto CJK 字体）无法嵌入 PDF。"
)


@dataclass(frozen=True)
class FontFile:
    """A usable face: the file and, for a collection, the index of the face in it."""

    path: Path
    subfont_index: int = 0


def font_dirs() -> list[Path]:
    """System and user font folders of this platform, existing ones only."""
    home = Path.home()
    if sys.platform.startswith("win"):
        windir = Path(os.environ.get("WINDIR", r"C:\Windows"))
        local = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
        dirs = [windir / "Fonts", local / "Microsoft" / "Windows" / "Fonts"]
    elif sys.platform == "darwin":
        dirs = [Path("/System/Library/Fonts"), Path("/System/Library/Fonts/Supplemental"),
                Path("/Library/Fonts"), home / "Library" / "Fonts"]
    else:
        dirs = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
                home / ".local" / "share" / "fonts", home / ".fonts"]
    return [d for d in dirs if d.is_dir()]


def sfnt_faces(path: Path) -> list[str]:
    """The outline kind of each face in a font file: 'truetype', 'cff' or 'unknown'.

    Reads only the header and table directories, so it is cheap enough to run on every candidate.
    """
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12:
            return []
        if head[:4] == b"ttcf":
            count = struct.unpack(">I", head[8:12])[0]
            if not 0 < count < 256:
                return []
            offsets = struct.unpack(f">{count}I", f.read(4 * count))
        else:
            offsets = (0,)
        kinds = []
        for offset in offsets:
            f.seek(offset)
            table_head = f.read(12)
            if len(table_head) < 12:
                kinds.append("unknown")
                continue
            tables = struct.unpack(">H", table_head[4:6])[0]
            tags = {f.read(16)[:4] for _ in range(min(tables, 512))}
            if b"glyf" in tags and b"loca" in tags:
                kinds.append("truetype")
            elif b"CFF " in tags or b"CFF2" in tags or table_head[:4] == b"OTTO":
                kinds.append("cff")
            else:
                kinds.append("unknown")
        return kinds


def _load(font: FontFile) -> TTFont:
    """Parse the face with reportlab; raises TTFError/OSError if it cannot be embedded."""
    face = TTFont("GongkaiProbe", str(font.path), subfontIndex=font.subfont_index)
    glyphs = face.face.charToGlyph
    if not all(ord(ch) in glyphs for ch in _PROBE):
        raise TTFError(f"{font.path.name}: no Chinese glyphs")
    return face


def _first_usable_face(path: Path) -> FontFile | None:
    try:
        kinds = sfnt_faces(path)
    except OSError:
        return None
    for index, kind in enumerate(kinds):
        if kind != "truetype":
            continue
        candidate = FontFile(path, index)
        try:
            _load(candidate)
        except (TTFError, OSError, ValueError, struct.error, KeyError, IndexError):
            continue
        return candidate
    return None


def check_font_file(path: str | Path) -> FontFile:
    """Validate a configured font file; raises PrintError saying why it cannot be used."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise PrintError(_("找不到指定的打印字体文件“{name}”。").format(name=p.name) + _(INSTALL_HELP),
                         details=str(p))
    try:
        kinds = sfnt_faces(p)
    except OSError as err:
        raise PrintError(_("无法读取打印字体文件“{name}”。").format(name=p.name) + _(INSTALL_HELP),
                         details=f"{p}: {err}") from err
    if kinds and all(k == "cff" for k in kinds):
        raise PrintError(
            _("打印字体“{name}”是 OpenType/CFF 字体，无法嵌入 PDF，请改用 TrueType 字体（.ttf/.ttc）。")
            .format(name=p.name) + _(INSTALL_HELP), details=f"{p}: CFF outlines")
    font = _first_usable_face(p)
    if font is None:
        raise PrintError(
            _("打印字体“{name}”不是可嵌入的 TrueType 中文字体。").format(name=p.name) + _(INSTALL_HELP),
            details=f"{p}: faces {kinds or 'unreadable'}")
    return font


def _candidates(dirs: list[Path]) -> list[Path]:
    by_name: dict[str, list[Path]] = {}
    others: list[Path] = []
    for d in dirs:
        for p in sorted(d.rglob("*")):
            if p.suffix.lower() not in _FONT_SUFFIXES or not p.is_file():
                continue
            by_name.setdefault(p.name.lower(), []).append(p)
            if any(h in p.name.lower() for h in _HINTS):
                others.append(p)
    preferred = [p for name in _PREFERRED for p in by_name.get(name.lower(), [])]
    return preferred + [p for p in others if p not in preferred]


def find_cjk_font(configured: str | Path | None = None, search_dirs: list[Path] | None = None) -> FontFile:
    """The font to print with: ``configured``, else ``$GONGKAI_FONT``, else the best system font.

    Raises PrintError with installation advice when nothing usable is found.
    """
    configured = configured or os.environ.get(FONT_ENV) or None
    if configured:
        return check_font_file(configured)
    dirs = font_dirs() if search_dirs is None else search_dirs
    for path in _candidates(dirs):
        font = _first_usable_face(path)
        if font is not None:
            return font
    raise PrintError(_("找不到可用于打印的中文字体。") + _(INSTALL_HELP),
                     details="searched: " + ", ".join(str(d) for d in dirs))


class Measure:
    """Advance widths of one registered TrueType face, cached per character (thread-safe reads)."""

    def __init__(self, font: TTFont) -> None:
        self.font = font
        self.name = font.fontName
        widths = font.face.charWidths
        default = font.face.defaultWidth

        class _Widths(dict):
            def __missing__(self, ch: str) -> float:
                w = widths.get(ord(ch), default) / 1000.0
                self[ch] = w
                return w

        self._w = _Widths()
        #: the widest advance of any mapped character, in em: a length bound for quick fit tests
        self.max_em = max(list(widths.values()) + [default, 1000]) / 1000.0

    def em(self, text: str) -> float:
        """Width of ``text`` in em (multiply by the font size for points)."""
        w = self._w
        return sum([w[c] for c in text])

    def width(self, text: str, size: float) -> float:
        w = self._w
        return sum([w[c] for c in text]) * size


_lock = threading.Lock()
_registered: dict[FontFile, Measure] = {}


def register_font(font: FontFile) -> Measure:
    """Register ``font`` with reportlab (once per process) and return its measurer."""
    with _lock:
        measure = _registered.get(font)
        if measure is None:
            name = f"GongkaiCJK{len(_registered) or ''}"
            try:
                tt = TTFont(name, str(font.path), subfontIndex=font.subfont_index)
            except (TTFError, OSError) as err:
                raise PrintError(_("打印字体无法使用。") + _(INSTALL_HELP), details=f"{font.path}: {err}") from err
            pdfmetrics.registerFont(tt)
            measure = _registered[font] = Measure(tt)
        return measure


@functools.lru_cache(maxsize=4)
def _discovered(configured: str | None) -> FontFile:
    return find_cjk_font(configured)


def default_measure(configured: str | Path | None = None) -> Measure:
    """The registered measurer of the configured or discovered font (discovery runs once)."""
    return register_font(_discovered(str(configured) if configured else os.environ.get(FONT_ENV) or None))
