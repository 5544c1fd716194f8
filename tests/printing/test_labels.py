"""Shelf labels: A4 sheets decoded cell by cell by zbarimg, ESC/POS barcode commands, the queue."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from app.services import catalog
from app.store.models import Product
from printing.labels import (
    CODE128,
    EAN13,
    Sheet,
    barcode_for,
    labels_for,
    render_labels_escpos,
    write_labels_pdf,
)
from printing.service import PrintService

needs_tools = pytest.mark.skipif(not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
                                 reason="needs poppler-utils and zbar-tools")
DPI = 300


def product_ids(store, n: int, weighed: bool = False) -> list[str]:
    with store.db.read() as s:
        return list(s.scalars(select(Product.id).where(Product.sold_by_weight.is_(weighed))
                              .order_by(Product.sku).limit(n)))


def zbar(png: Path) -> list[str]:
    """Every barcode zbarimg finds in the image, as SYMBOLOGY:data."""
    result = subprocess.run(["zbarimg", "-q", str(png)], capture_output=True, text=True)
    return result.stdout.split()


def decode_cells(pdf: Path, sheet: Sheet, count: int, tmp: Path) -> list[list[str]]:
    """Render at 300 dpi, crop each label cell, decode each crop on its own."""
    subprocess.run(["pdftoppm", "-png", "-r", str(DPI), str(pdf), str(tmp / "page")], check=True)
    pages = sorted(tmp.glob("page-*.png"))
    scale = DPI / 72
    found = []
    for i in range(count):
        page = Image.open(pages[i // sheet.per_page])
        x, y = sheet.origin(i)
        cw, ch = sheet.cell
        top = sheet.page[1] - (y + ch)
        box = tuple(round(v * scale) for v in (x, top, x + cw, top + ch))
        crop = tmp / f"cell-{i}.png"
        page.crop(box).save(crop)
        found.append(zbar(crop))
    return found


def test_barcode_choice():
    assert barcode_for("SKU1", ["5400000000010"]) == ("5400000000010", EAN13)
    assert barcode_for("SKU1", ["96385074"]) == ("96385074", "EAN8")
    assert barcode_for("W0001", ["2800001"]) == ("W0001", CODE128)  # weighed look-up code
    assert barcode_for("SKU1", ["5400000000011"]) == ("SKU1", CODE128)  # bad check digit
    assert barcode_for("SKU-9", []) == ("SKU-9", CODE128)


@needs_tools
def test_pdf_sheet_each_label_decodes_to_its_products_code(store, tmp_path):
    ids = product_ids(store, 26) + product_ids(store, 2, weighed=True)  # 28 labels: two pages
    labels = labels_for(store, ids)
    assert [lb.product_id for lb in labels] == ids
    sheet = Sheet()
    pdf = write_labels_pdf(labels, tmp_path / "labels.pdf", sheet)
    assert len(PdfReader(pdf).pages) == 2
    cells = decode_cells(pdf, sheet, len(labels), tmp_path)
    for label, found in zip(labels, cells, strict=True):
        kind = "EAN-13" if label.symbology == EAN13 else "CODE-128"
        assert found == [f"{kind}:{label.code}"], label
    assert {lb.symbology for lb in labels} == {EAN13, CODE128}
    text = PdfReader(pdf).pages[0].extract_text()
    assert labels[0].name.split()[0] in text and labels[0].price in text


@needs_tools
def test_a_scanned_label_finds_its_product(store, tmp_path):
    ids = product_ids(store, 3)
    pdf = write_labels_pdf(labels_for(store, ids), tmp_path / "l.pdf")
    subprocess.run(["pdftoppm", "-png", "-r", str(DPI), str(pdf), str(tmp_path / "p")], check=True)
    codes = [c.split(":", 1)[1] for c in zbar(next(tmp_path.glob("p-*.png")))]
    assert sorted(catalog.line_for_scan(store, c).product_id for c in codes) == sorted(ids)


def test_escpos_labels_carry_barcode_commands(store):
    ids = product_ids(store, 2) + product_ids(store, 1, weighed=True)
    labels = labels_for(store, ids, copies=2)
    assert len(labels) == 6
    data = render_labels_escpos(labels, 80)
    ean, sku = labels[0], labels[-1]
    assert ean.symbology == EAN13 and sku.symbology == CODE128
    # GS k 2 (EAN13, function A) + digits + NUL; GS k I len {B + SKU (CODE128, function B)
    assert b"\x1dk\x02" + ean.code.encode() + b"\x00" in data
    assert b"\x1dkI" + bytes([len(sku.code) + 2]) + b"{B" + sku.code.encode() in data
    assert data.count(b"\x1dV") == 6  # one cut per label
    assert ean.name.split()[0].encode() in data


def test_print_service_queues_labels_and_writes_pdf(store, tcp_printer, tmp_path):
    service = PrintService(store)
    from printing.connections import PrinterConfig

    service.save_printer(PrinterConfig(name="Shelf", connection="network", address="127.0.0.1",
                                       port=tcp_printer.port, paper_mm=58, default=True))
    ids = product_ids(store, 2)
    job = service.enqueue_labels(ids)
    [outcome] = service.process_pending(timeout_s=5)
    assert outcome.ok and outcome.job_id == job
    [received] = tcp_printer.wait_for(1)
    assert b"\x1dk\x02" in received
    view = service.queue.get(job).view
    assert view.kind == "labels" and view.status == "done"
    pdf = service.labels_pdf(ids, tmp_path / "x.pdf")
    assert pdf.exists() and len(PdfReader(pdf).pages) == 1


def test_no_printer_keeps_the_label_job_failed(store):
    service = PrintService(store)
    job = service.enqueue_labels(product_ids(store, 1))
    view = service.queue.get(job).view
    assert view.status == "failed" and "no printer" in view.last_error
