"""ESC/POS bytes of receipts for 58 and 80 mm paper."""

from __future__ import annotations

import re

import pytest

from printing.escpos_output import render_receipt, render_test_page
from printing.receipt import build_receipt

CUT = b"\x1dV"
DRAWER_KICK = b"\x1bp\x0022"  # ESC p 0 t1 t2: pulse on pin 2
CODE128 = b"\x1dkI"  # GS k 73 n {B...: a CODE128 barcode


def printed_lines(data: bytes) -> list[str]:
    """The text lines, with ESC/GS commands taken out (good enough for width checks)."""
    text = re.sub(rb"\x1b[!Eatd-].|\x1bM.|\x1b@|\x1b\{.|\x1db.|\x1dB.|\x1d[hwfH].", b"", data)
    text = text.split(CODE128)[0]
    return [line.decode("latin-1") for line in text.split(b"\n")]


@pytest.mark.parametrize(("paper", "width"), [(58, 32), (80, 48)])
def test_receipt_bytes_fit_the_paper(store, cash_sale, paper, width):
    data = render_receipt(build_receipt(store, cash_sale.order_id), paper)
    body = printed_lines(data)
    assert any("TOTAL" in line for line in body)
    assert max(len(line) for line in body) <= width


def test_receipt_has_reference_barcode_cut_and_optional_drawer(store, cash_sale):
    doc = build_receipt(store, cash_sale.order_id)
    plain = render_receipt(doc, 80)
    assert CODE128 + bytes([len("{B" + doc.reference)]) + b"{B" + doc.reference.encode() in plain
    assert plain.startswith(b"\x1b@") and CUT in plain and DRAWER_KICK not in plain
    kicked = render_receipt(doc, 80, open_drawer=True)
    assert kicked.endswith(DRAWER_KICK)


def test_store_name_is_bold_and_double_size(store, cash_sale):
    data = render_receipt(build_receipt(store, cash_sale.order_id), 80)
    header = data[: data.index(b"Harbour Street Grocer")]
    assert b"\x1bE\x01" in header and b"\x1b!0" in header  # bold on; double height and width


def test_test_page_bytes(store):
    data = render_test_page("Front till", "10.0.0.5:9100", 58)
    assert b"Front till" in data and b"10.0.0.5:9100" in data and CUT in data
    assert b"12345678901234567890123456789012\n" in data
