"""Column layout: 58 mm (32 characters) and 80 mm (48) receipts never run off the paper."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from printing.escpos_output import self_test_rows
from printing.layout import (
    BIG,
    Row,
    chars_per_line,
    columns,
    format_row,
    receipt_lines,
    receipt_text,
    table,
    wrap,
)
from printing.receipt import ReceiptDocument, ReceiptLine, StoreHeader, TaxRow, TenderRow

WIDTHS = (32, 48)
text = st.text(st.characters(codec="latin-1", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=120)
amount = st.integers(-10**9, 10**9).map(lambda m: f"€{m / 100:,.2f}")


def doc_with(name: str, price: str, footer: str = "Thank you!", store: str = "Harbour Street Grocer",
             customer: str | None = "Jane Murphy") -> ReceiptDocument:
    line = ReceiptLine(name, f"0.532 kg @ {price}/kg", "0.532 kg", f"{price}/kg", price, f"-{price} (10%)",
                       False)
    return ReceiptDocument(
        store=StoreHeader(store, ("12 Harbour Street", "Kinsale, Co. Cork"), "IE1234567T"),
        reference="GO-7K0042", created_at=datetime(2025, 5, 1, 14, 3), cashier="Cass Cashier",
        lines=(line, line), order_discount=f"-{price}", taxes=(TaxRow("13.5%", price, price, price),),
        tax_inclusive=True, subtotal=price, discount=f"-{price}", tax=price, total=price,
        tenders=(TenderRow("Cash", price, price, price),), balance_due=price,
        customer_name=customer, footer=footer, kind="reprint")


@pytest.mark.parametrize("paper", [58, 80])
def test_paper_width_to_characters(paper):
    assert chars_per_line(paper) == {58: 32, 80: 48}[paper]


def test_other_paper_is_refused():
    with pytest.raises(ValueError, match="58 or 80"):
        chars_per_line(76)


def test_columns_put_the_amount_on_the_right_of_the_first_line():
    assert columns("Bread", "€2.09", 20) == ["Bread          €2.09"]
    assert columns("Green Valley Organic Apples", "€12.09", 20) == [
        "Green Valley  €12.09", "Organic Apples"]
    assert columns("2 x €1.29", "", 20, indent=2) == ["  2 x €1.29"]


def test_columns_stack_when_the_amount_leaves_no_room():
    assert columns("Total", "€1,234,567,890.12", 20) == ["Total", "   €1,234,567,890.12"]


def test_table_aligns_amounts_in_equal_columns_or_stacks():
    assert table(("23%", "€10.00", "€2.30", "€12.30"), 32) == ["23%     €10.00    €2.30   €12.30"]
    assert all(len(x) <= 32 for x in table(("23%", "€1,234,567.00", "€2.30", "€12.30"), 32))


def test_wrap_breaks_long_words():
    assert wrap("x" * 10, 4) == ["xxxx", "xxxx", "xx"]
    assert wrap("", 4) == [""]


def test_double_size_rows_wrap_at_half_width():
    lines = format_row(Row("Harbour Street Grocer & Delicatessen", style=BIG, center=True), 32)
    assert all(len(x) * 2 <= 32 for x in lines)


@pytest.mark.parametrize("width", WIDTHS)
def test_preview_has_everything_in_order(width):
    out = receipt_text(doc_with("Loose Apples", "€1.59"), width)
    for needle in ("Harbour Street Grocer", "COPY - REPRINT", "GO-7K0042", "Cashier: Cass Cashier",
                   "Customer: Jane Murphy", "Loose Apples", "0.532 kg @ €1.59/kg", "TOTAL",
                   "Change", "BALANCE DUE", "13.5%", "Thank you!"):
        assert needle in out, needle
    assert out.index("Loose Apples") < out.index("TOTAL") < out.index("Thank you!")


@settings(max_examples=150, deadline=None)
@given(name=text, price=amount, footer=text, store=text, customer=st.none() | text)
def test_no_line_is_wider_than_the_paper(name, price, footer, store, customer):
    doc = doc_with(name, price, footer, store or "S", customer)
    for width in WIDTHS:
        for line in receipt_lines(doc, width):
            assert len(line) <= width, (width, line)
        for row in self_test_rows("Printer " + name, "10.0.0.5:9100", 58 if width == 32 else 80):
            factor = 2 if row.style == BIG else 1
            assert all(len(x) * factor <= width for x in format_row(row, width))


@settings(max_examples=100, deadline=None)
@given(left=text, right=st.text(max_size=60), width=st.sampled_from(WIDTHS), indent=st.integers(0, 6))
def test_columns_never_exceed_width_and_keep_the_text(left, right, width, indent):
    lines = columns(left, right, width, indent)
    assert all(len(x) <= width for x in lines)
    shown = right[:width].rstrip()
    if shown:
        # The amount sits at the end of the first line, or alone on the last when the
        # paper is too narrow to share (see columns); take it out and read the rest.
        stacked = width - min(indent, width - 1) - len(right[:width]) - 1 < 4
        if stacked:
            assert lines[-1].strip() == shown.strip()
            lines = lines[:-1]
        else:
            assert lines[0].endswith(shown)
            lines = [lines[0][: -len(shown)], *lines[1:]]
    assert "".join(left.split()) == "".join("".join(lines).split())
