"""PDF rendering of notices from their public view (reportlab).

Entry point: :class:`printing.service.PrintService` (notice, batch by village, board sheet,
objection slip). Renderers take only the public view or plain data: ``notice.render_notice``,
``sheets.render_board_sheet`` / ``render_objection_slip`` / ``render_index``. Fonts (a body font
and fallbacks for the characters it lacks) are found and registered in ``fonts``, every character
is checked for a font in ``printable``, sizes and colours live in ``styles``, page furniture
(footer, QR code, watermark) in ``page``, the fast roster table in ``table``, page flow in ``layout``.
"""
