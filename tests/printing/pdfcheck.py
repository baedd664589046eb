"""Reading a rendered PDF the way a reader (or a phone) would: text, fonts, QR codes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def page_texts(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(str(pdf)).pages]


def squeeze(text: str) -> str:
    """Text without any whitespace, so a number split over lines or cells still shows up."""
    return re.sub(r"\s+", "", text)


def fonts(pdf: Path) -> list[dict[str, str]]:
    """pdffonts rows: name, type, emb, sub."""
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        # name type [type…] encoding emb sub uni object-id generation
        rows.append({"name": parts[0], "type": parts[1], "emb": parts[-5], "sub": parts[-4]})
    return rows


def decode_qr(pdf: Path, page: int, tmp: Path, dpi: int = 150) -> list[str]:
    """Texts of the QR codes zxing-cpp finds on a ``pdftoppm`` rendering of ``page`` (from 1)."""
    import zxingcpp
    from PIL import Image

    stem = tmp / f"{pdf.stem}-p{page}"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), "-singlefile",
                    str(pdf), str(stem)], check=True)
    with Image.open(f"{stem}.png") as image:
        return [r.text for r in zxingcpp.read_barcodes(image) if "QR" in r.format.name]


def _tables(font: bytes) -> dict[bytes, tuple[int, int]]:
    import struct

    count = struct.unpack(">H", font[4:6])[0]
    entries = (font[12 + 16 * i:28 + 16 * i] for i in range(count))
    return {e[:4]: struct.unpack(">II", e[8:16]) for e in entries}


def _outlined_codes(font: bytes) -> set[int]:
    """The codes of an embedded subset TrueType font (a format 6 'cmap', as reportlab writes
    them) whose glyph is not .notdef and has an outline in 'glyf'."""
    import struct

    tables = _tables(font)
    cmap = tables[b"cmap"][0]
    sub = cmap + struct.unpack(">I", font[cmap + 8:cmap + 12])[0]
    assert struct.unpack(">H", font[sub:sub + 2])[0] == 6, "subset cmap is not format 6"
    first, count = struct.unpack(">HH", font[sub + 6:sub + 10])
    glyphs = struct.unpack(f">{count}H", font[sub + 10:sub + 10 + 2 * count])
    head, loca = tables[b"head"][0], tables[b"loca"][0]
    long_offsets = struct.unpack(">h", font[head + 50:head + 52])[0] == 1
    n = tables[b"loca"][1] // (4 if long_offsets else 2)
    offsets = struct.unpack(f">{n}{'I' if long_offsets else 'H'}", font[loca:loca + tables[b"loca"][1]])
    return {first + code for code, gid in enumerate(glyphs)
            if gid and gid + 1 < len(offsets) and offsets[gid + 1] > offsets[gid]}


def _to_unicode(stream: bytes) -> dict[int, str]:
    """code → text of a ToUnicode CMap's bfchar entries; an entry that is not UTF-16 (which
    readers reject) maps to nothing."""
    pairs = re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", stream.split(b"beginbfchar", 1)[-1])
    return {int(code, 16): bytes.fromhex(text.decode()).decode("utf-16-be", "replace") if len(text) % 4 == 0 else ""
            for code, text in pairs}


def drawn_characters(pdf: Path) -> list[tuple[str, str, bool]]:
    """Every character drawn on every page as (character, font, has_outline): the character is
    what the font's ToUnicode map says the code stands for, the font the /BaseFont of the font
    the text was shown with, and has_outline whether the embedded font draws that code with a
    glyph of its own (not .notdef, not empty)."""
    from pypdf import PdfReader
    from pypdf.generic import ContentStream

    reader = PdfReader(str(pdf))
    drawn: list[tuple[str, str, bool]] = []
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        known: dict[str, tuple[str, dict[int, str], set[int]]] = {}
        for key, ref in fonts.items():
            font = ref.get_object()
            file = font.get("/FontDescriptor", {}).get("/FontFile2")
            if file is None or "/ToUnicode" not in font:  # a font not embedded draws nothing of its own
                known[key] = (str(font["/BaseFont"]), {}, set())
                continue
            known[key] = (str(font["/BaseFont"]), _to_unicode(font["/ToUnicode"].get_object().get_data()),
                          _outlined_codes(file.get_object().get_data()))
        current = None
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tf":
                current = known[str(operands[0])]
                continue
            if operator == b"TJ":
                strings = [s for s in operands[0] if not isinstance(s, int | float)]
            elif operator in (b"Tj", b"'", b'"'):
                strings = [operands[-1]]
            else:
                continue
            name, to_unicode, outlined = current
            for s in strings:
                data = s.original_bytes if hasattr(s, "original_bytes") else bytes(s)
                drawn.extend((to_unicode.get(code, ""), name, code in outlined) for code in data)
    return drawn
