"""The receipt's QR code: the order reference and its journal code, readable by
zbarimg from the PDF, and sent with the printer's QR command on ESC/POS."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from app.domain.receipt_code import parse_receipt_text
from app.services import sales
from app.services.journal import order_receipt_qr
from app.store.local import LocalStore
from printing.escpos_output import render_receipt
from printing.pdf_output import write_receipt_pdf
from printing.receipt import build_receipt

needs_tools = pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
                                 reason="needs poppler-utils and zbar-tools")


def decoded_qr(pdf: Path, out: Path, dpi: int = 150) -> list[str]:
    """The QR codes zbarimg reads from the PDF rendered at ``dpi``."""
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out / "page")], check=True)
    found: list[str] = []
    for png in sorted(out.glob("page*.png")):
        result = subprocess.run(["zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable",
                                 str(png)], capture_output=True, text=True)
        found += [line for line in result.stdout.splitlines() if line]
    return found


@needs_tools
def test_pdf_receipt_qr_reads_back_as_the_journal_code(store: LocalStore,
                                                       cash_sale: sales.SaleResult,
                                                       tmp_path: Path) -> None:
    doc = build_receipt(store, cash_sale.order_id)
    assert doc.journal_qr == order_receipt_qr(store, cash_sale.order_id)
    pdf = write_receipt_pdf(doc, tmp_path / "receipt.pdf")
    [text] = decoded_qr(pdf, tmp_path)
    assert text == doc.journal_qr
    reference, _code = parse_receipt_text(text)
    assert reference == doc.reference


def test_escpos_receipt_sends_the_qr_command(store: LocalStore,
                                             cash_sale: sales.SaleResult) -> None:
    doc = build_receipt(store, cash_sale.order_id)
    assert doc.journal_qr is not None
    data = render_receipt(doc, 80)
    store_cmd = b"\x1d(k" + (len(doc.journal_qr) + 3).to_bytes(2, "little") + b"1P0"
    assert store_cmd + doc.journal_qr.encode() in data
    assert b"\x1d(k\x03\x001Q0" in data  # print the stored symbol


def test_the_screen_printer_slip_shows_the_qr_as_words_not_command_bytes(
        store: LocalStore, cash_sale: sales.SaleResult) -> None:
    """The demo's screen printer turns the ESC/POS job into text: the QR commands
    (GS ( k: size, error level, store, print) used to show as raw bytes after the
    barcode line ('k..1A2.k..1C.k..1E0k1P0TS1:GO-...')."""
    from printing.screen_printer import slip_text

    doc = build_receipt(store, cash_sale.order_id)
    assert doc.journal_qr is not None
    text = slip_text(render_receipt(doc, 80))
    assert f"[QR {doc.journal_qr}]" in text.splitlines()
    assert "1P0" not in text and "1Q0" not in text and "k\x03" not in text
    assert all(ch.isprintable() for line in text.splitlines() for ch in line)
