"""Shelf labels: name, price and a scannable barcode, as A4 PDF sheets or ESC/POS bytes.

A product whose barcode is an EAN-13 (or EAN-8) gets that symbol, so the label scans
to the code on the pack; anything else (no barcode, a weighed item's GS1 look-up
code, an internal code) gets a Code128 of the SKU, which the terminal's search finds.
PDF sheets are a grid of equal cells (default 3 x 8 on A4, the common 70 x 36 mm
label stock); ESC/POS labels print one after the other, each ended by a partial cut.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from escpos.printer import Dummy
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.eanbc import Ean8BarcodeWidget, Ean13BarcodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select

from app.domain.barcode import is_valid_gtin
from app.domain.money import format_money
from app.store.local import LocalStore
from app.store.models import Product
from printing.escape import barcode_data, printable
from printing.layout import chars_per_line, wrap
from printing.pdf_output import FONT, FONT_BOLD, register_fonts

EAN13, EAN8, CODE128 = "EAN13", "EAN8", "CODE128"
LABELS_KIND = "labels"  # the print-queue job kind
MODULE = 0.33 * mm  # nominal EAN module; Code128 bars are narrowed to fit the cell


@dataclass(frozen=True)
class Label:
    """What one shelf label shows; ``code`` is what its barcode decodes to."""

    product_id: str
    sku: str
    name: str
    price: str  # formatted, "€2.49" or "€12.90 / kg"
    code: str
    symbology: str  # EAN13, EAN8 or CODE128


@dataclass(frozen=True)
class Sheet:
    """A sheet of label stock: a grid of ``cols`` x ``rows`` cells on the page."""

    cols: int = 3
    rows: int = 8
    page: tuple[float, float] = A4
    margin_x: float = 0.0
    margin_y: float = 4.5 * mm
    padding: float = 3 * mm

    @property
    def cell(self) -> tuple[float, float]:
        w, h = self.page
        return (w - 2 * self.margin_x) / self.cols, (h - 2 * self.margin_y) / self.rows

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    def origin(self, index: int) -> tuple[float, float]:
        """Bottom-left corner of cell ``index`` (0 = top left, filled row by row)."""
        pos = index % self.per_page
        row, col = divmod(pos, self.cols)
        cw, ch = self.cell
        return self.margin_x + col * cw, self.page[1] - self.margin_y - (row + 1) * ch


def barcode_for(sku: str, codes: Iterable[str]) -> tuple[str, str]:
    """(data, symbology) of a product's label: its EAN-13, else EAN-8, else Code128 of the SKU."""
    ordered = sorted(codes)
    for length, symbology in ((13, EAN13), (8, EAN8)):
        for code in ordered:
            if len(code) == length and is_valid_gtin(code) and not _is_variable(code):
                return code, symbology
    return sku, CODE128


def _is_variable(code: str) -> bool:
    """GS1 price/weight prefixes: such a code is made per pack, never printed on a shelf."""
    return len(code) == 13 and (code[:2] == "02" or "20" <= code[:2] <= "29")


def labels_for(store: LocalStore, product_ids: Sequence[str], copies: int = 1) -> list[Label]:
    """Labels of the products, in the order given (unknown ids are skipped)."""
    settings = store.settings()
    with store.db.read() as s:
        products = {p.id: p for p in s.scalars(select(Product).where(Product.id.in_(list(product_ids))))}
        labels = []
        for pid in product_ids:
            p = products.get(pid)
            if p is None:
                continue
            price = format_money(p.price, settings.currency, settings.locale)
            code, symbology = barcode_for(p.sku, (b.code for b in p.barcodes))
            labels.append(Label(p.id, p.sku, p.name, f"{price} / kg" if p.sold_by_weight else price,
                                code, symbology))
    return [label for label in labels for _ in range(max(1, copies))]


# ---------------------------------------------------------------- PDF


def _draw_label(c: Canvas, sheet: Sheet, label: Label, x: float, y: float) -> None:
    cw, ch = sheet.cell
    pad = sheet.padding
    inner = cw - 2 * pad
    top = y + ch - pad
    name_lines = simpleSplit(label.name, FONT_BOLD, 9, inner)[:2] or [""]
    c.setFont(FONT_BOLD, 9)
    for line in name_lines:
        top -= 10
        c.drawString(x + pad, top, line)
    top -= 18
    c.setFont(FONT_BOLD, 16)
    c.drawString(x + pad, top, label.price)
    bar_height = max(18.0, top - 6 - (y + pad) - 10)
    _draw_barcode(c, label, x + pad, y + pad, inner, bar_height)


def _draw_barcode(c: Canvas, label: Label, x: float, y: float, width: float, height: float) -> None:
    """The barcode centred in ``width``, its digits (or the SKU) underneath."""
    if label.symbology in (EAN13, EAN8):
        widget = (Ean13BarcodeWidget if label.symbology == EAN13 else Ean8BarcodeWidget)(label.code)
        widget.barWidth, widget.barHeight, widget.fontSize = MODULE, height, 7
        w = widget.getBounds()[2]
        if w > width:
            widget.barWidth = MODULE * width / w
            w = widget.getBounds()[2]
        drawing = Drawing(w, height + 10)
        drawing.add(widget)
        renderPDF.draw(drawing, c, x + (width - w) / 2, y)
        return
    bars = Code128(label.code, barWidth=MODULE, barHeight=height, quiet=True, humanReadable=False)
    if bars.width > width:
        bars = Code128(label.code, barWidth=MODULE * width / bars.width, barHeight=height,
                       quiet=True, humanReadable=False)
    bars.drawOn(c, x + (width - bars.width) / 2, y + 9)
    c.setFont(FONT, 7)
    c.drawCentredString(x + width / 2, y + 1, label.code)


def write_labels_pdf(labels: Sequence[Label], path: Path, sheet: Sheet = Sheet(), *,
                     start: int = 0) -> Path:
    """Labels on as many sheets as needed; ``start`` skips cells already used on the first sheet."""
    register_fonts()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    c = Canvas(str(path), pagesize=sheet.page)
    c.setTitle("Shelf labels")
    cells = list(range(start, start + len(labels)))
    for i, (cell, label) in enumerate(zip(cells, labels, strict=True)):
        if i and cell % sheet.per_page == 0:
            c.showPage()
        x, y = sheet.origin(cell)
        _draw_label(c, sheet, label, x, y)
    c.showPage()
    c.save()
    return path


# ---------------------------------------------------------------- ESC/POS


def render_labels_escpos(labels: Sequence[Label], paper_mm: int = 80) -> bytes:
    """ESC/POS bytes: per label the name, the price large, the barcode, then a partial cut."""
    width = chars_per_line(paper_mm)
    printer = Dummy(profile="default")
    printer.hw("INIT")
    for label in labels:  # every stored text passes printable(): none becomes a command
        printer.set(align="center", bold=True)
        printer.text("".join(line + "\n" for line in wrap(printable(label.name), width)[:2]))
        printer.set(align="center", bold=True, double_width=True, double_height=True)
        printer.text(printable(label.price) + "\n")
        printer.set(align="center", bold=False, normal_textsize=True)
        with contextlib.redirect_stdout(io.StringIO()):  # python-escpos prints its renderer choice
            if label.symbology == CODE128:
                printer.barcode("{B" + barcode_data(label.code), "CODE128", height=64, width=2,
                                pos="BELOW", function_type="B")
            else:
                printer.barcode(label.code, label.symbology, height=64, width=2 if paper_mm == 58 else 3,
                                pos="BELOW", function_type="A")
        printer.cut(mode="PART", feed=True)
    return bytes(printer.output)

