"""Find a TrueType CJK body font and its fallbacks, register them with reportlab once, and
measure and split text by the font that draws each character.

The body font is a 宋体-style face where one is installed (SimSun, Songti, AR PL UMing), and must
draw Chinese, digits and Latin letters: amounts, dates and page numbers are in it. Characters it
lacks (CJK Extension A–G, characters added late to Unicode) come from fallback fonts, the first
that has each one: SimSun-ExtB and MingLiU-ExtB on Windows, HanaMin (花园明朝) on Linux, then any
other Chinese font installed. Fallbacks are loaded the first time a character needs them.

reportlab embeds only TrueType (glyf) outlines, subset; OpenType/CFF fonts (most Noto CJK and
Source Han files, Hiragino) are detected from their table directory and skipped, or refused when
configured. Collections (.ttc) are searched face by face. A configured font file wins over
discovery; an unusable configured file is refused, never silently replaced.
"""

from __future__ import annotations

import functools
import os
import re
import string
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from app.i18n import N_, _
from printing.errors import PrintError, unprintable

#: environment variable naming a font file (overrides discovery, below an explicit argument)
FONT_ENV = "GONGKAI_FONT"

#: what the body font must draw, and what a font lacking it is told it lacks: Chinese, and the
#: digits and Latin letters of amounts, dates, page numbers, document numbers and web addresses
_NEEDS = (
    ("公示村镇补贴金额元亩第页共", N_("中文")),
    (string.digits, N_("数字 0–9")),
    (string.ascii_letters, N_("拉丁字母 A–Z")),
)
_CHINESE = _NEEDS[0][1]

# Preferred body fonts, most suitable first: 宋体 (Song/Ming) faces, the customary face of official
# notices (SimSun on Windows, Songti on macOS, AR PL UMing or a TrueType Noto Serif on Linux), then
# the sans-serif faces: YaHei/HeiTi read well small; WenQuanYi is the usual Linux font.
_PREFERRED = (
    "simsun.ttc", "simsun.ttf", "Songti.ttc", "uming.ttc", "NotoSerifSC-Regular.ttf",
    "NotoSerifCJK-Regular.ttc", "msyh.ttc", "msyh.ttf", "simhei.ttf", "simfang.ttf", "simkai.ttf",
    "msyhl.ttc", "STHeiti Light.ttc", "STHeiti Medium.ttc", "PingFang.ttc", "Arial Unicode.ttf",
    "wqy-microhei.ttc", "wqy-zenhei.ttc", "ukai.ttc", "NotoSansSC-Regular.ttf", "NotoSansCJK-Regular.ttc",
    "DroidSansFallbackFull.ttf", "DroidSansFallback.ttf",
)
# Fallbacks for what the body font lacks, most suitable first: the Song-style companions of SimSun
# and MingLiU for Extensions B–G (Windows), HanaMin A/B (花园明朝, Extensions A–F; Debian
# fonts-hanazono), BabelStone Han; then the large everyday fonts. Every other Chinese font found
# follows these.
_FALLBACKS = (
    "simsunb.ttf", "SimsunExtG.ttf", "mingliub.ttc", "HanaMinA.ttf", "HanaMinB.ttf", "BabelStoneHan.ttf",
    "simsun.ttc", "msyh.ttc", "Songti.ttc", "uming.ttc", "ukai.ttc", "wqy-zenhei.ttc", "wqy-microhei.ttc",
    "DroidSansFallbackFull.ttf", "DroidSansFallback.ttf",
)
_HINTS = ("cjk", "sc-", "sc.", "hei", "song", "ming", "kai", "fang", "wqy", "droid", "gb", "yahei", "simsun",
          "hana", "extb", "babelstone")
_FONT_SUFFIXES = (".ttf", ".ttc", ".otf", ".otc")

INSTALL_HELP = N_(
    "请安装一款 TrueType 中文字体后重试：Windows 自带宋体（simsun.ttc）或微软雅黑（msyh.ttc）；"
    "Linux 可安装 AR PL UMing 明体和生僻字用的花园明朝（Debian/Ubuntu：sudo apt-get install fonts-arphic-uming "
    "fonts-hanazono fonts-wqy-microhei；统信 UOS/麒麟：在应用商店搜索“文泉驿”）；也可以在“设置 → 打印字体”中指定一个 .ttf 或 .ttc 字体文件。"
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


_PARSE_ERRORS = (TTFError, OSError, ValueError, struct.error, KeyError, IndexError)


def _lacks(face: TTFont) -> list[str]:
    """What of Chinese, digits and Latin letters ``face`` cannot draw (untranslated labels)."""
    glyphs = face.face.charToGlyph
    return [label for chars, label in _NEEDS if not all(glyphs.get(ord(ch)) for ch in chars)]


def _truetype_faces(path: Path) -> list[FontFile]:
    try:
        kinds = sfnt_faces(path)
    except OSError:
        return []
    return [FontFile(path, index) for index, kind in enumerate(kinds) if kind == "truetype"]


def _inspect(path: Path) -> Iterator[tuple[FontFile, list[str]]]:
    """Each TrueType face of ``path`` that reportlab can parse, with what it lacks."""
    for candidate in _truetype_faces(path):
        try:
            face = TTFont("GongkaiProbe", str(candidate.path), subfontIndex=candidate.subfont_index)
        except _PARSE_ERRORS:
            continue
        yield candidate, _lacks(face)


def _first_usable_face(path: Path) -> FontFile | None:
    return next((font for font, lacks in _inspect(path) if not lacks), None)


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
    faces = []
    for font, lacks in _inspect(p):
        if not lacks:
            return font
        faces.append(lacks)
    chinese = [lacks for lacks in faces if _CHINESE not in lacks]
    if chinese:  # Chinese without digits or Latin letters (Droid Sans Fallback): numbers would vanish
        what = "、".join(_(label) for label in chinese[0])
        raise PrintError(
            _("打印字体“{name}”缺少{what}：用它打印，金额、日期和页码会印不出来。请改用其他字体"
              "（如宋体 simsun.ttc），或在“设置 → 打印字体”中改回自动选择。").format(name=p.name, what=what),
            details=f"{p}: lacks {', '.join(chinese[0])}")
    raise PrintError(
        _("打印字体“{name}”不是可嵌入的 TrueType 中文字体。").format(name=p.name) + _(INSTALL_HELP),
        details=f"{p}: faces {kinds or 'unreadable'}")


def _candidates(dirs: list[Path], first: tuple[str, ...] = _PREFERRED) -> list[Path]:
    """Font files under ``dirs``: those named in ``first`` in that order, then the others whose
    name suggests a Chinese font; each file once, however many links lead to it."""
    by_name: dict[str, list[Path]] = {}
    others: list[Path] = []
    for d in dirs:
        for p in sorted(d.rglob("*")):
            if p.suffix.lower() not in _FONT_SUFFIXES or not p.is_file():
                continue
            by_name.setdefault(p.name.lower(), []).append(p)
            if any(h in p.name.lower() for h in _HINTS):
                others.append(p)
    seen: set[Path] = set()
    found = []
    for p in [p for name in first for p in by_name.get(name.lower(), [])] + others:
        real = p.resolve()
        if real not in seen:
            seen.add(real)
            found.append(p)
    return found


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
    """Advance widths and font runs of a body font and its fallbacks (thread-safe).

    Each character is measured and drawn in the first font of the chain that has its glyph: the
    body font, then the fallbacks in order, each loaded the first time a character needs it. A
    character no font has is reported (:class:`UnprintableCharacter`), never drawn as a blank.
    """

    def __init__(self, font: TTFont, fallbacks: Callable[[], Iterator[TTFont]] | None = None) -> None:
        self.font = font
        self.name = font.fontName
        self._fonts = [font]
        self._fallbacks = fallbacks
        self._more: Iterator[TTFont] | None = None
        self._lock = threading.Lock()
        #: the characters the body font has: most text needs nothing else (checked in C)
        self._body = frozenset(chr(code) for code, glyph in font.face.charToGlyph.items() if glyph)
        #: the widest advance of any character measured or any of the body font, in em: a length
        #: bound for quick fit tests
        self.max_em = max(list(font.face.charWidths.values()) + [font.face.defaultWidth, 1000]) / 1000.0
        fonts, resolve, chain = self._fonts, self._resolve, self

        class _Which(dict):  # character → index of its font in the chain, -1 for none
            def __missing__(self, ch: str) -> int:
                i = self[ch] = resolve(ch)
                return i

        class _Widths(dict):
            def __missing__(self, ch: str) -> float:
                i = which[ch]
                face = fonts[i if i >= 0 else 0].face
                w = self[ch] = face.charWidths.get(ord(ch), face.defaultWidth) / 1000.0
                if w > chain.max_em:
                    chain.max_em = w
                return w

        which = self._which = _Which()
        self._w = _Widths()

    def _resolve(self, ch: str) -> int:
        code = ord(ch)
        with self._lock:
            for i, font in enumerate(self._fonts):
                if font.face.charToGlyph.get(code):
                    return i
            if ch.isspace():  # line breaks and tabs are blank in any font: the body font's
                return 0
            while (font := self._next_fallback()) is not None:
                self._fonts.append(font)
                if font.face.charToGlyph.get(code):
                    return len(self._fonts) - 1
        return -1

    def _next_fallback(self) -> TTFont | None:
        if self._fallbacks is None:
            return None
        if self._more is None:
            self._more = self._fallbacks()
        return next(self._more, None)

    def plain(self, text: str) -> bool:
        """Whether the body font alone draws ``text``."""
        return self._body.issuperset(text)

    def missing(self, text: str) -> str:
        """The characters of ``text`` that no font has, each once, in order."""
        if self._body.issuperset(text):
            return ""
        which, rest = self._which, set(text).difference(self._body)
        return "".join(ch for ch in dict.fromkeys(text) if ch in rest and which[ch] < 0)

    def runs(self, text: str) -> list[tuple[TTFont, str]]:
        """``text`` split into runs of characters drawn by the same font, in order.

        Raises UnprintableCharacter for a character no font has.
        """
        if self._body.issuperset(text):
            return [(self.font, text)]
        which, fonts = self._which, self._fonts
        runs: list[tuple[TTFont, str]] = []
        start, current = 0, -2
        for i, ch in enumerate(text):
            k = which[ch]
            if k < 0:
                raise unprintable(_("文字"), text, ch)
            if k != current:
                if i > start:
                    runs.append((fonts[current], text[start:i]))
                start, current = i, k
        runs.append((fonts[current], text[start:]))
        return runs

    def em(self, text: str) -> float:
        """Width of ``text`` in em (multiply by the font size for points)."""
        w = self._w
        return sum([w[c] for c in text])

    def width(self, text: str, size: float) -> float:
        w = self._w
        return sum([w[c] for c in text]) * size

    def draw(self, c: Canvas, x: float, y: float, text: str, size: float, align: str = "left") -> None:
        """Draw ``text`` with its baseline at ``y``, starting at ``x`` (``align`` left), centred on
        it (center) or ending there (right), each run in its own font. The canvas is left set to
        the body font at ``size``."""
        if align != "left":
            w = self.width(text, size)
            x -= w / 2 if align == "center" else w
        runs = self.runs(text)
        for font, run in runs:
            c.setFont(font.fontName, size)
            c.drawString(x, y, run)
            x += self.width(run, size)
        if runs[-1][0] is not self.font:
            c.setFont(self.name, size)


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """reportlab's ToUnicode CMap of a font subset, with every character written in UTF-16 as the
    PDF format requires. reportlab writes a code point above U+FFFF (𠮷, CJK Extension B and
    later) as five or six hex digits, which readers reject: the character drops out of the text
    layer (search, copy, screen readers) although it is drawn."""
    entries = [f"<{i:02X}> <{chr(v).encode('utf-16-be').hex().upper()}>" for i, v in enumerate(subset)]
    return "\n".join([
        "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap", "/CIDSystemInfo",
        f"<< /Registry ({fontname})", f"/Ordering ({fontname})", "/Supplement 0", ">> def",
        f"/CMapName /{fontname} def", "/CMapType 2 def", "1 begincodespacerange",
        f"<00> <{len(subset) - 1:02X}>", "endcodespacerange", f"{len(subset)} beginbfchar",
        *entries, "endbfchar", "endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end",
    ])


ttfonts.makeToUnicodeCMap = _to_unicode_cmap

_lock = threading.RLock()
_faces: dict[FontFile, TTFont] = {}
_registered: dict[FontFile, Measure] = {}


def _face(font: FontFile) -> TTFont:
    """``font`` parsed and registered with reportlab, once per process, under a name of its own."""
    with _lock:
        face = _faces.get(font)
        if face is None:
            stem = re.sub(r"[^A-Za-z0-9]+", "", font.path.stem) or "Font"
            name = f"Gongkai{stem}" + (f"-{font.subfont_index}" if font.subfont_index else "")
            taken = {f.fontName for f in _faces.values()}
            base, n = name, 2
            while name in taken:
                name, n = f"{base}-{n}", n + 1
            face = TTFont(name, str(font.path), subfontIndex=font.subfont_index)
            pdfmetrics.registerFont(face)
            _faces[font] = face
        return face


@functools.lru_cache(maxsize=4)
def _fallback_files(dirs: tuple[Path, ...]) -> tuple[FontFile, ...]:
    return tuple(f for path in _candidates(list(dirs), _FALLBACKS) for f in _truetype_faces(path))


def _fallback_faces(body: FontFile) -> Iterator[TTFont]:
    """The fallback faces of the system for ``body``, in order, parsed one by one as asked for."""
    for font in _fallback_files(tuple(font_dirs())):
        if font == body:
            continue
        try:
            yield _face(font)
        except _PARSE_ERRORS:
            continue


def register_font(font: FontFile) -> Measure:
    """Register ``font`` with reportlab (once per process) and return its measurer, which falls
    back on the system's other fonts for the characters ``font`` lacks."""
    with _lock:
        measure = _registered.get(font)
        if measure is None:
            try:
                face = _face(font)
            except _PARSE_ERRORS as err:
                raise PrintError(_("打印字体无法使用。") + _(INSTALL_HELP), details=f"{font.path}: {err}") from err
            measure = _registered[font] = Measure(face, functools.partial(_fallback_faces, font))
        return measure


@functools.lru_cache(maxsize=4)
def _discovered(configured: str | None) -> FontFile:
    return find_cjk_font(configured)


def default_measure(configured: str | Path | None = None) -> Measure:
    """The registered measurer of the configured or discovered font (discovery runs once)."""
    return register_font(_discovered(str(configured) if configured else os.environ.get(FONT_ENV) or None))
