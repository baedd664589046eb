"""PDF rendering of notices from their public view (reportlab)."""
