"""QR codes drawn as vector squares, so that they stay sharp on any printer.

Each row of the module matrix is drawn as merged horizontal runs in one filled path. The quiet
zone (4 modules) is part of the given size and is left white.
"""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from reportlab.pdfgen.canvas import Canvas

QUIET_ZONE = 4


def qr_matrix(data: str) -> list[list[bool]]:
    """Module matrix without the quiet zone; error correction M (15 %), smallest version."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    return code.get_matrix()


def define_qr_form(canvas: Canvas, name: str, data: str, size: float) -> None:
    """Define the code once per document as a form XObject of side ``size`` (drawn with
    ``canvas.doForm(name)`` after translating to its lower-left corner)."""
    canvas.beginForm(name, 0, 0, size, size)
    draw_qr(canvas, data, 0, 0, size)
    canvas.endForm()


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw the code for ``data`` in the square with lower-left corner (x, y) and side ``size``."""
    matrix = qr_matrix(data)
    n = len(matrix)
    module = size / (n + 2 * QUIET_ZONE)
    left = x + QUIET_ZONE * module
    top = y + size - QUIET_ZONE * module
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if not row[c]:
                c += 1
                continue
            start = c
            while c < n and row[c]:
                c += 1
            path.rect(left + start * module, top - (r + 1) * module, (c - start) * module, module)
    canvas.saveState()
    canvas.setFillGray(0)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()
