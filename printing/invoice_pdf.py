"""The A4 invoice of an order: store header, customer, lines, tax, totals, payments.

Built with reportlab's platypus so long orders flow onto further pages with the
line table's header repeated; the reference barcode sits in the header box.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from printing.pdf_output import FONT, FONT_BOLD, reference_barcode
from printing.receipt import ReceiptDocument

MARGIN = 18 * mm
FRAME_PAD = 6  # platypus frames keep 6 pt padding inside the page margins
CONTENT_WIDTH = A4[0] - 2 * MARGIN - 2 * FRAME_PAD
GREY = colors.HexColor("#555555")
LIGHT = colors.HexColor("#EEEEEE")

BODY = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=8.5, leading=11, textColor=GREY)
STORE = ParagraphStyle("store", parent=BODY, fontName=FONT_BOLD, fontSize=16, leading=20)
TITLE = ParagraphStyle("title", parent=BODY, fontName=FONT_BOLD, fontSize=20, leading=24, alignment=TA_RIGHT)
RIGHT = ParagraphStyle("right", parent=BODY, alignment=TA_RIGHT)
HEAD = ParagraphStyle("head", parent=BODY, fontName=FONT_BOLD, fontSize=10.5, leading=14, spaceBefore=6)


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


class _Barcode(Flowable):
    """The reference as Code128, right-aligned in its cell, with the reference under it."""

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference
        self.code = reference_barcode(reference, bar_width=1.1, bar_height=34)
        self.width, self.height = self.code.width, self.code.height + 12

    def draw(self) -> None:
        self.code.drawOn(self.canv, 0, 12)
        self.canv.setFont(FONT, 8.5)
        self.canv.drawCentredString(self.width / 2, 2, self.reference)


def _header(doc: ReceiptDocument) -> Table:
    store = [_p(doc.store.name, STORE)] + [_p(x) for x in doc.store.address_lines]
    if doc.store.tax_id:
        store.append(_p(f"VAT no. {doc.store.tax_id}", SMALL))
    title = {"refund": "REFUND", "reprint": "INVOICE (COPY)"}.get(doc.kind, "INVOICE")
    meta = [_p(title, TITLE), _p(f"Invoice no. {doc.reference}", RIGHT), _p(f"Date {doc.date_text}", RIGHT)]
    if doc.cashier:
        meta.append(_p(f"Served by {doc.cashier}", RIGHT))
    meta += [Spacer(1, 4), _Barcode(doc.reference)]
    table = Table([[store, meta]], colWidths=[CONTENT_WIDTH * 0.55, CONTENT_WIDTH * 0.45])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _grid(rows: list[list], widths: list[float], *, bold_last: bool = False, align: str = "LEFT") -> Table:
    """A table with a shaded header row, amounts (all but the first column) right-aligned."""
    table = Table(rows, colWidths=widths, repeatRows=1, hAlign=align)
    style = [
        ("FONT", (0, 0), (-1, -1), FONT, 9.5), ("FONT", (0, 0), (-1, 0), FONT_BOLD, 9.5),
        ("BACKGROUND", (0, 0), (-1, 0), LIGHT), ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, 0), 0.6, GREY),
        ("LINEBELOW", (0, -1), (-1, -1), 0.6, GREY), ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if bold_last:
        style.append(("FONT", (0, -1), (-1, -1), FONT_BOLD, 10.5))
    table.setStyle(TableStyle(style))
    return table


def _lines(doc: ReceiptDocument) -> Table:
    rows: list[list] = [["Description", "Qty", "Unit price", "Discount", "Amount"]]
    for li in doc.lines:
        rows.append([_p(li.name), li.qty, li.unit_price, li.discount or "", li.line_total])
    w = CONTENT_WIDTH
    return _grid(rows, [w * 0.38, w * 0.12, w * 0.16, w * 0.18, w * 0.16])


def _totals(doc: ReceiptDocument) -> Table:
    rows: list[list] = [["Summary", ""], ["Subtotal", doc.subtotal]]
    if doc.order_discount:
        rows.append(["Order discount", doc.order_discount])
    if doc.discount:
        rows.append(["Discounts (total)", doc.discount])
    rows.append(["Tax included" if doc.tax_inclusive else "Tax", doc.tax])
    rows.append(["Total", doc.total])
    return _grid(rows, [CONTENT_WIDTH * 0.25, CONTENT_WIDTH * 0.16], bold_last=True, align="RIGHT")


def _taxes(doc: ReceiptDocument) -> Table:
    rows: list[list] = [["Tax rate", "Net", "Tax", "Gross"]]
    rows += [[t.rate, t.net, t.tax, t.gross] for t in doc.taxes]
    w = CONTENT_WIDTH
    return _grid(rows, [w * 0.16, w * 0.16, w * 0.16, w * 0.16])


def _payments(doc: ReceiptDocument) -> Table:
    rows: list[list] = [["Payment", "Amount", "Tendered", "Change"]]
    rows += [[t.method, t.amount, t.tendered or "", t.change or ""] for t in doc.tenders]
    if doc.balance_due:
        rows.append(["Balance due", doc.balance_due, "", ""])
    w = CONTENT_WIDTH
    return _grid(rows, [w * 0.25, w * 0.16, w * 0.16, w * 0.16], bold_last=bool(doc.balance_due))


def _page_footer(reference: str) -> Callable[[Canvas, object], None]:
    """Reference and page number at the foot of every page."""

    def draw(canvas: Canvas, _doc: object) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(GREY)
        canvas.drawString(MARGIN + FRAME_PAD, 10 * mm, f"Invoice {reference}")
        canvas.drawRightString(A4[0] - MARGIN - FRAME_PAD, 10 * mm, f"Page {canvas.getPageNumber()}")
        canvas.restoreState()
    return draw


def build_invoice(doc: ReceiptDocument, path: Path) -> None:
    story: list[Flowable] = [_header(doc), Spacer(1, 8 * mm)]
    if doc.customer_name:
        story += [_p("Bill to", HEAD), _p(doc.customer_name), Spacer(1, 5 * mm)]
    story += [_lines(doc), Spacer(1, 5 * mm), _totals(doc)]
    if doc.taxes:
        story += [_p("Tax breakdown", HEAD), Spacer(1, 2), _taxes(doc)]
    if doc.tenders or doc.balance_due:
        story += [_p("Payments", HEAD), Spacer(1, 2), _payments(doc)]
    if doc.footer:
        story += [Spacer(1, 8 * mm), _p(doc.footer, SMALL)]
    pdf = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN + 6 * mm,
                            title=f"Invoice {doc.reference}", author=doc.store.name)
    footer = _page_footer(doc.reference)
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)


__all__ = ["build_invoice"]
