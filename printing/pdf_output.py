"""PDF documents of an order: an 80 mm receipt and an A4 invoice (reportlab).

The receipt PDF draws the same rows as the thermal printer, in a proportional
font with amounts right-aligned, on a page exactly as tall as its content. Both
carry the order reference as a Code128 barcode large enough for a phone or a
hand scanner (and zbarimg) to read from a screen or a print-out. Fonts are the
Bitstream Vera faces shipped inside reportlab, so the euro sign and accents
render the same on every terminal without system fonts.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from printing.layout import BARCODE, BIG, BLANK, BOLD, QR, RULE, TABLE, Row, receipt_rows
from printing.receipt import ReceiptDocument

FONT, FONT_BOLD = "TillsyncSans", "TillsyncSans-Bold"
RECEIPT_WIDTH = 80 * mm
MARGIN = 4 * mm
SIZE, BIG_SIZE, LEADING = 8.0, 12.0, 10.5
BAR_WIDTH, BAR_HEIGHT = 0.9, 30.0  # points; 0.9 pt modules stay readable at 200 dpi
QR_SIDE = 30 * mm  # the journal code's QR symbol: about 1 mm modules, for a phone


def register_fonts() -> None:
    """Register the bundled Vera faces once under our own names."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, "VeraBd.ttf"))


def reference_barcode(reference: str, bar_width: float = BAR_WIDTH, bar_height: float = BAR_HEIGHT) -> Code128:
    """Code128 of the reference with quiet zones, human-readable text drawn by us."""
    return Code128(reference, barWidth=bar_width, barHeight=bar_height, humanReadable=False, quiet=True)


class _ReceiptPainter:
    """Lays out receipt rows top-down on a canvas; with ``canvas=None`` it only measures."""

    def __init__(self, canvas: Canvas | None, top: float) -> None:
        self.c, self.y = canvas, top
        self.x0, self.x1 = MARGIN, RECEIPT_WIDTH - MARGIN

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    def _text(self, x: float, text: str, font: str, size: float, how: str = "left") -> None:
        if self.c is None:
            return
        self.c.setFont(font, size)
        draw = {"left": self.c.drawString, "right": self.c.drawRightString,
                "center": self.c.drawCentredString}[how]
        draw(x, self.y, text)

    def _advance(self, points: float) -> None:
        self.y -= points

    def row(self, row: Row) -> None:
        if row.style == RULE:
            self._rule()
        elif row.style == BLANK:
            self._advance(LEADING / 2)
        elif row.style == TABLE:
            self._table(row.cells)
        elif row.style == BARCODE:
            self._barcode(row.left)
        elif row.style == QR:
            self._qr(row.left)
        else:
            self._columns(row)

    def _rule(self) -> None:
        self._advance(LEADING * 0.6)
        if self.c is not None:
            self.c.setDash(1, 2)
            self.c.setLineWidth(0.5)
            self.c.line(self.x0, self.y + 2, self.x1, self.y + 2)
            self.c.setDash()
        self._advance(LEADING * 0.4)

    def _columns(self, row: Row) -> None:
        big = row.style == BIG
        font = FONT_BOLD if big or row.style == BOLD else FONT
        size = BIG_SIZE if big else SIZE + (1 if row.style == BOLD else 0)
        leading = size * 1.3
        indent = row.indent * 3.0
        right_w = pdfmetrics.stringWidth(row.right, font, size) + 6 if row.right else 0
        lines = simpleSplit(row.left, font, size, self.width - indent - right_w) or [""]
        for i, line in enumerate(lines):
            self._advance(leading)
            if row.center:
                self._text((self.x0 + self.x1) / 2, line, font, size, "center")
            else:
                self._text(self.x0 + indent, line, font, size)
            if i == 0 and row.right:
                self._text(self.x1, row.right, font, size, "right")

    def _table(self, cells: tuple[str, ...]) -> None:
        self._advance(LEADING)
        first_w = self.width * 0.22
        col = (self.width - first_w) / max(1, len(cells) - 1)
        self._text(self.x0, cells[0], FONT, SIZE - 0.5)
        for i, cell in enumerate(cells[1:], start=1):
            self._text(self.x0 + first_w + col * i, cell, FONT, SIZE - 0.5, "right")

    def _qr(self, text: str) -> None:
        self._advance(4 + QR_SIDE)
        if self.c is not None:
            renderPDF.draw(_qr_code(text), self.c, (self.x0 + self.x1 - QR_SIDE) / 2, self.y)

    def _barcode(self, reference: str) -> None:
        bc = reference_barcode(reference)
        self._advance(6 + bc.height)
        if self.c is not None:
            bc.drawOn(self.c, (self.x0 + self.x1 - bc.width) / 2, self.y)
        self._advance(LEADING)
        self._text((self.x0 + self.x1) / 2, reference, FONT, SIZE, "center")


def _qr_code(text: str) -> Drawing:
    """The journal code's QR symbol, QR_SIDE points square (quiet zone included)."""
    widget = QrCodeWidget(text, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(QR_SIDE, QR_SIDE, transform=[QR_SIDE / (x1 - x0), 0, 0,
                                                   QR_SIDE / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _paint(canvas: Canvas | None, rows: list[Row], top: float) -> float:
    painter = _ReceiptPainter(canvas, top)
    for row in rows:
        painter.row(row)
    return painter.y


def write_slip_pdf(rows: list[Row], path: Path, title: str, author: str) -> Path:
    """Rows as an 80 mm wide slip, one page exactly as tall as the rows: the receipt, a
    payment schedule and an X or Z report are all drawn this way."""
    register_fonts()
    height = -_paint(None, rows, 0.0) + 2 * MARGIN
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas = Canvas(str(path), pagesize=(RECEIPT_WIDTH, height))
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setFillColor(colors.black)
    _paint(canvas, rows, height - MARGIN)
    canvas.showPage()
    canvas.save()
    return path


def write_receipt_pdf(doc: ReceiptDocument, path: Path) -> Path:
    """An 80 mm wide receipt, one page exactly as tall as the receipt."""
    return write_slip_pdf(receipt_rows(doc), path, f"Receipt {doc.reference}", doc.store.name)


def write_invoice_pdf(doc: ReceiptDocument, path: Path) -> Path:
    """An A4 invoice of the order (see :mod:`printing.invoice_pdf`)."""
    from printing.invoice_pdf import build_invoice

    register_fonts()
    path.parent.mkdir(parents=True, exist_ok=True)
    build_invoice(doc, path)
    return path


__all__ = ["A4", "write_receipt_pdf", "write_invoice_pdf", "reference_barcode", "register_fonts"]
