"""The dashboard as an A4 PDF report: the figures as tables and the charts as pictures.

The screen renders its charts to PNG (what the manager saw is what goes on paper); this
module lays them out with the figures from app/services/analytics_local.py.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from app.services.analytics_local import Dashboard
from printing.pdf_output import FONT, FONT_BOLD, register_fonts

MARGIN = 16 * mm


class _Page:
    def __init__(self, canvas: Canvas) -> None:
        self.c = canvas
        self.width, self.height = A4
        self.y = self.height - MARGIN

    def need(self, space: float) -> None:
        if self.y - space < MARGIN:
            self.c.showPage()
            self.y = self.height - MARGIN

    def text(self, text: str, size: float = 10, bold: bool = False, right: str = "") -> None:
        self.need(size * 1.5)
        self.c.setFont(FONT_BOLD if bold else FONT, size)
        self.c.drawString(MARGIN, self.y - size, text)
        if right:
            self.c.drawRightString(self.width - MARGIN, self.y - size, right)
        self.y -= size * 1.5

    def picture(self, png: bytes, height: float) -> None:
        image = ImageReader(BytesIO(png))
        w, h = image.getSize()
        width = min(self.width - 2 * MARGIN, height * w / h)
        self.need(height + 4 * mm)
        self.c.drawImage(image, MARGIN, self.y - height, width=width, height=height)
        self.y -= height + 4 * mm


def write_dashboard_pdf(d: Dashboard, charts: dict[str, bytes], money: dict[str, str],
                        path: Path) -> Path:
    """``charts``: chart title -> PNG; ``money``: every amount shown, formatted by the
    screen (so the report reads as the screen does)."""
    register_fonts()
    canvas = Canvas(str(path), pagesize=A4)
    canvas.setTitle(f"Dashboard {d.date_from} to {d.date_to}")
    page = _Page(canvas)
    page.text(f"Dashboard — {d.store_name}", 16, bold=True)
    page.text(f"{d.date_from:%d %b %Y} to {d.date_to:%d %b %Y}", 10)
    page.text(money["as_of"], 9)
    page.y -= 4
    page.text("Takings", 12, bold=True)
    for label, key in (("Orders", "orders"), ("Revenue (gross)", "gross"), ("Tax", "tax"),
                       ("Net", "net"), ("Average sale", "average"),
                       ("Today", "today"), ("Same day last week", "last_week"),
                       ("Plans outstanding", "plans"), ("Plans overdue", "overdue")):
        page.text(label, 10, right=money[key])
    page.y -= 4
    page.text("Offline and online", 12, bold=True)
    for kind, f in d.by_type.items():
        page.text(f"{kind}: {f.orders} orders", 10, right=money[f"type:{kind}"])
    page.text("Tenders", 12, bold=True)
    for tender in d.tenders:
        page.text(tender, 10, right=money[f"tender:{tender}"])
    for title, png in charts.items():
        page.need(80 * mm)  # the title stays with its chart
        page.text(title, 12, bold=True)
        page.picture(png, 62 * mm)
    page.text("Top products", 12, bold=True)
    for i, p in enumerate(d.top_products):
        page.text(f"{i + 1}. {p.name}  ×{p.qty_milli / 1000:g}", 10,
                  right=money[f"product:{i}"])
    canvas.save()
    return path
