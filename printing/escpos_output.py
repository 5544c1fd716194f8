"""ESC/POS bytes of a receipt for 58 mm and 80 mm thermal printers.

Every text goes through :func:`printing.escape.printable` on its way to bytes, so no
stored text can become a printer command. Rendering is separate from sending: python-escpos' ``Dummy`` printer collects
the bytes, the print queue stores them, and a connection delivers them later.
So a job prints exactly what the order was when it was recorded, and a printer
that is off does not hold the sale up.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import replace

from escpos.printer import Dummy

from printing.escape import barcode_data, printable
from printing.layout import (
    BARCODE,
    BIG,
    BOLD,
    QR,
    Row,
    chars_per_line,
    format_row,
    receipt_rows,
)
from printing.receipt import ReceiptDocument

DRAWER_PIN = 2  # drawer kick on connector pin 2, the one nearly every cash drawer uses
CUT_COMMAND = b"\x1dV"  # GS V: the paper cut the tests look for
PROFILE = "default"


def _barcode(printer: Dummy, reference: str, paper_mm: int) -> None:
    """The reference as CODE128 (code set B), so scanning the receipt finds the order."""
    with contextlib.redirect_stdout(io.StringIO()):  # python-escpos prints its renderer choice
        printer.barcode("{B" + reference, "CODE128", height=64, width=2 if paper_mm == 58 else 3,
                        pos="BELOW", font="A", align_ct=True, function_type="B")
    printer.set(align="left")


def _qr(printer: Dummy, text: str, paper_mm: int) -> None:
    """The journal code as a QR symbol, with the printer's own QR command (GS ( k)."""
    printer.set(align="center")
    printer.qr(text, size=4 if paper_mm == 58 else 5, native=True)
    printer.set(align="left")


def escaped(row: Row) -> Row:
    """``row`` with each of its texts through :func:`printing.escape.printable`."""
    return replace(row, left=printable(row.left), right=printable(row.right),
                   cells=tuple(printable(c) for c in row.cells))


def _row(printer: Dummy, row: Row, width: int, paper_mm: int) -> None:
    if row.style == BARCODE:
        _barcode(printer, barcode_data(row.left), paper_mm)
        return
    if row.style == QR:
        _qr(printer, barcode_data(row.left), paper_mm)
        return
    row = escaped(row)
    if row.style == BIG:
        printer.set(bold=True, double_width=True, double_height=True)
    elif row.style == BOLD:
        printer.set(bold=True)
    printer.text("".join(line + "\n" for line in format_row(row, width)))
    if row.style in (BIG, BOLD):
        printer.set(bold=False, normal_textsize=True)


def render_rows(rows: list[Row], paper_mm: int, *, open_drawer: bool = False) -> bytes:
    """Bytes for ``rows``: initialise, print, feed, cut, then kick the drawer if asked."""
    width = chars_per_line(paper_mm)
    printer = Dummy(profile=PROFILE)
    printer.hw("INIT")
    for row in rows:
        _row(printer, row, width, paper_mm)
    printer.cut(mode="PART", feed=True)
    if open_drawer:
        printer.cashdraw(DRAWER_PIN)
    return bytes(printer.output)


def render_receipt(doc: ReceiptDocument, paper_mm: int = 80, *, open_drawer: bool = False) -> bytes:
    """The receipt as ESC/POS bytes for ``paper_mm`` paper (58 or 80)."""
    return render_rows(receipt_rows(doc), paper_mm, open_drawer=open_drawer)


def self_test_rows(printer_name: str, where: str, paper_mm: int) -> list[Row]:
    """A page that shows the set-up works: name, address, width ruler, styles, a barcode."""
    width = chars_per_line(paper_mm)
    ruler = ("1234567890" * 5)[:width]
    return [
        Row("Tillsync test page", style=BIG, center=True),
        Row(style="rule"),
        Row("Printer", printer_name),
        Row("Connection", where),
        Row("Paper", f"{paper_mm} mm, {width} characters"),
        Row(ruler),
        Row("Bold text", style=BOLD),
        Row("Euro sign and accents: € é ü ñ"),
        Row("TEST-PAGE", style=BARCODE),
        Row("If the ruler fits on one line and the barcode scans,", center=True),
        Row("this printer is ready.", center=True),
    ]


def render_test_page(printer_name: str, where: str, paper_mm: int, *, open_drawer: bool = False) -> bytes:
    return render_rows(self_test_rows(printer_name, where, paper_mm), paper_mm, open_drawer=open_drawer)
