"""PDF receipt (80 mm) and A4 invoice: text read back, barcode decoded by zbarimg."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.domain.money import format_money
from printing.pdf_output import RECEIPT_WIDTH, write_invoice_pdf, write_receipt_pdf
from printing.receipt import build_receipt

needs_tools = pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
                                 reason="needs poppler-utils and zbar-tools")


def decoded_barcodes(pdf: Path) -> list[str]:
    """Render the pages at 200 dpi and decode every barcode on them."""
    prefix = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", "200", str(pdf), str(prefix)], check=True)
    found: list[str] = []
    for png in sorted(pdf.parent.glob(prefix.name + "-*.png")):
        result = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True)
        found += result.stdout.split()
    return found


def pdf_text(pdf: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


@needs_tools
def test_receipt_pdf_is_80mm_with_text_and_a_scannable_reference(store, cash_sale, tmp_path):
    doc = build_receipt(store, cash_sale.order_id)
    pdf = write_receipt_pdf(doc, tmp_path / "receipt.pdf")
    reader = PdfReader(pdf)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - RECEIPT_WIDTH) < 0.5 and 300 < float(box.height) < 1200
    text = pdf_text(pdf)
    total = format_money(cash_sale.total, "EUR", "en_IE")
    assert cash_sale.reference in text and total in text and "Jane Murphy" in text
    # the Code128 finds the order; the QR carries its journal code (docs/journal.md)
    assert sorted(decoded_barcodes(pdf)) == sorted([cash_sale.reference, doc.journal_qr])


@needs_tools
def test_invoice_pdf_is_a4_with_text_and_a_scannable_reference(store, cash_sale, tmp_path):
    doc = build_receipt(store, cash_sale.order_id)
    pdf = write_invoice_pdf(doc, tmp_path / "invoice.pdf")
    box = PdfReader(pdf).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for needle in ("INVOICE", f"Invoice no. {cash_sale.reference}", "Bill to", "Jane Murphy",
                   "Tax breakdown", "Payments", "Harbour Street Grocer", "VAT no. IE1234567T",
                   format_money(cash_sale.total, "EUR", "en_IE"), "0.532 kg", "€2.99/kg"):
        assert needle in text, needle
    assert decoded_barcodes(pdf) == [cash_sale.reference]


@needs_tools
def test_a_long_order_flows_onto_more_invoice_pages(store, tmp_path):
    from app.domain.tender import Method, Tender
    from tests.printing.conftest import ring_up

    sale = ring_up(store, [Tender(Method.CARD, 100)])
    doc = build_receipt(store, sale.order_id)
    from dataclasses import replace

    long_doc = replace(doc, lines=doc.lines * 40)
    pdf = write_invoice_pdf(long_doc, tmp_path / "long.pdf")
    assert len(PdfReader(pdf).pages) >= 3
    assert "Balance due" in pdf_text(pdf)
    receipt = write_receipt_pdf(long_doc, tmp_path / "long-receipt.pdf")
    assert len(PdfReader(receipt).pages) == 1  # a receipt is one long strip
    assert sorted(decoded_barcodes(receipt)) == sorted([sale.reference, doc.journal_qr])
