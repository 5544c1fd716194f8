"""Text-column layout of a receipt for 58 mm (32 characters) and 80 mm (48) paper.

A receipt is first turned into width-free :class:`Row` s (what goes left, what
goes right, how it is styled); each output then lays the rows out its own way.
Thermal printers and the on-screen preview use :func:`format_row`, which wraps
and pads to a fixed number of characters and never returns a line longer than
the paper holds (a double-size row counts each character twice).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from printing.receipt import ReceiptDocument, ReceiptLine

WIDTH_58MM = 32
WIDTH_80MM = 48
PAPER_WIDTHS = {58: WIDTH_58MM, 80: WIDTH_80MM}

NORMAL, BOLD, BIG, RULE, BLANK, BARCODE, TABLE = (
    "normal", "bold", "big", "rule", "blank", "barcode", "table")
QR = "qr"  # the journal code's QR symbol (docs/journal.md); its text on a text-only output


@dataclass(frozen=True)
class Row:
    """One logical receipt row; ``cells`` is used by table rows only."""

    left: str = ""
    right: str = ""
    style: str = NORMAL
    center: bool = False
    indent: int = 0
    cells: tuple[str, ...] = ()


def chars_per_line(paper_mm: int) -> int:
    """Characters of the printer's standard font across 58 or 80 mm paper."""
    try:
        return PAPER_WIDTHS[paper_mm]
    except KeyError:
        raise ValueError(f"Paper width must be 58 or 80 mm, not {paper_mm}") from None


def wrap(text: str, width: int) -> list[str]:
    """Words wrapped to ``width``; over-long words are broken; never an empty list."""
    if width < 1:
        raise ValueError("width must be at least 1")
    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)
    return lines or [""]


def center(text: str, width: int) -> list[str]:
    return [line.center(width).rstrip() for line in wrap(text, width)]


def columns(left: str, right: str, width: int, indent: int = 0) -> list[str]:
    """``left`` wrapped on the left, ``right`` right-aligned on the first line."""
    right = right[:width]
    pad = " " * min(indent, width - 1)
    room = width - len(pad) - (len(right) + 1 if right else 0)
    if room < 4:
        # Too narrow to share a line (a huge amount on tiny paper): stack them.
        return [pad + x for x in wrap(left, width - len(pad))] + [right.rjust(width)]
    # The amount's room is reserved as an indent on the first line only.
    reserve = width - len(pad) - room
    lines = textwrap.wrap(left, width - len(pad), initial_indent=" " * reserve,
                          break_long_words=True, break_on_hyphens=False) or [" " * reserve]
    first = (pad + lines[0][reserve:]).ljust(width - len(right)) + right
    return [x.rstrip() for x in [first, *(pad + x for x in lines[1:])]]


def table(cells: tuple[str, ...], width: int) -> list[str]:
    """First cell left, the others right-aligned in equal columns; stacks if they do not fit."""
    if not cells:
        return [""]
    n = len(cells) - 1
    col = (width - 5) // n if n else 0
    first_w = width - col * n
    fits = len(cells[0]) <= first_w and all(len(c) < col for c in cells[1:])
    if fits:
        return [(cells[0].ljust(first_w) + "".join(c.rjust(col) for c in cells[1:])).rstrip()]
    return wrap("  ".join(cells), width)


def format_row(row: Row, width: int) -> list[str]:
    """The printed lines of one row at ``width`` characters (double-size rows wrap at half)."""
    if row.style == RULE:
        return ["-" * width]
    if row.style == BLANK:
        return [""]
    if row.style == TABLE:
        return table(row.cells, width)
    w = width // 2 if row.style == BIG else width
    if row.center:
        return center(row.left, w)
    if row.style in (BARCODE, QR):
        return center(row.left, w)
    return columns(row.left, row.right, w, row.indent)


def _header_rows(doc: ReceiptDocument) -> list[Row]:
    rows = [Row(doc.store.name, style=BIG, center=True)]
    rows += [Row(line, center=True) for line in doc.store.address_lines]
    if doc.store.tax_id:
        rows.append(Row(f"VAT {doc.store.tax_id}", center=True))
    rows.append(Row(style=RULE))
    if doc.title:
        rows.append(Row(f"*** {doc.title} ***", style=BOLD, center=True))
    rows.append(Row(doc.reference, doc.date_text))
    if doc.cashier:
        rows.append(Row(f"Cashier: {doc.cashier}"))
    if doc.approved_by:
        rows.append(Row(f"Approved by: {doc.approved_by}"))
    if doc.customer_name:
        rows.append(Row(f"Customer: {doc.customer_name}"))
    rows.append(Row(style=RULE))
    return rows


def line_rows(line: ReceiptLine) -> list[Row]:
    rows = [Row(line.name, line.line_total)]
    if not line.single or line.discount:
        rows.append(Row(line.quantity, indent=2))
    if line.discount:
        rows.append(Row(f"Discount {line.discount}", indent=2))
    return rows


def _total_rows(doc: ReceiptDocument) -> list[Row]:
    rows = [Row(style=RULE)]
    if doc.discount:
        rows.append(Row("Subtotal", doc.subtotal))
        if doc.order_discount:
            rows.append(Row("Order discount", doc.order_discount))
        rows.append(Row("Discounts", doc.discount))
    rows.append(Row("TOTAL", doc.total, style=BOLD))
    rows += [Row(note) for note in doc.notes]
    rows.append(Row("Incl. tax" if doc.tax_inclusive else "Tax", doc.tax))
    if doc.tenders:
        rows.append(Row(style=RULE))
    for t in doc.tenders:
        rows.append(Row(t.method, t.tendered or t.amount))
        if t.change:
            rows.append(Row("Change", t.change))
    if doc.balance_due:
        rows.append(Row("BALANCE DUE", doc.balance_due, style=BOLD))
    return rows


def _tax_rows(doc: ReceiptDocument) -> list[Row]:
    if not doc.taxes:
        return []
    rows = [Row(style=RULE), Row(style=TABLE, cells=("Rate", "Net", "Tax", "Gross"))]
    rows += [Row(style=TABLE, cells=(t.rate, t.net, t.tax, t.gross)) for t in doc.taxes]
    return rows


def receipt_rows(doc: ReceiptDocument) -> list[Row]:
    """The whole receipt as width-free rows, top to bottom."""
    rows = _header_rows(doc)
    for line in doc.lines:
        rows += line_rows(line)
    rows += _total_rows(doc) + _tax_rows(doc)
    rows += [Row(style=RULE), Row(doc.reference, style=BARCODE)]
    if doc.journal_qr:
        rows.append(Row(doc.journal_qr, style=QR))
    if doc.footer:
        rows.append(Row(style=BLANK))
        rows += [Row(x, center=True) for x in doc.footer.splitlines() if x.strip()]
    return rows


def receipt_lines(doc: ReceiptDocument, width: int) -> list[str]:
    lines: list[str] = []
    for row in receipt_rows(doc):
        lines += format_row(row, width)
    return lines


def receipt_text(doc: ReceiptDocument, width: int = WIDTH_80MM) -> str:
    """Plain-text preview of the receipt as the printer would print it (for the screen).

    Double-size rows are shown centered at normal size; the barcode as its text.
    """
    out: list[str] = []
    for row in receipt_rows(doc):
        if row.style == BIG:
            out += center(row.left, width)
        elif row.style == BARCODE:
            out += center(f"|||| {row.left} ||||", width)
        else:
            out += format_row(row, width)
    return "\n".join(out) + "\n"
