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
