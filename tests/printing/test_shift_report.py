"""X and Z reports on paper: ESC/POS at 58 and 80 mm read back as text, the PDF's text,
and the jobs through the print queue (printing/shift_report.py)."""

from __future__ import annotations

import re
import subprocess

import pytest

from app.domain.tender import Method, Tender
from app.services import cash_movements, shift_reports, shifts, staff
from printing import shift_report as psr
from printing.layout import chars_per_line
from printing.service import PrintService
from tests.printing.conftest import ring_up


def _text(payload: bytes) -> str:
    return payload.decode("cp437", errors="replace")


def _day(store):  # noqa: ANN001, ANN202
    cashier = staff.sign_in(store, "1003", "3333")
    shifts.open_shift(store, cashier, float_counted={1000: 5})
    ring_up(store, [Tender(Method.CASH, 5000)], discount=False)
    ring_up(store, [Tender(Method.CARD, 500)], weighed=False, discount=False)
    cash_movements.pay_out(store, cashier, 300, "milk for the staff room")
    return cashier


@pytest.mark.parametrize("paper", [58, 80])
def test_x_and_z_escpos_say_the_figures_within_the_paper(store, paper) -> None:
    cashier = _day(store)
    x = shift_reports.x_report(store)
    xdoc = psr.x_document(store)
    text = _text(psr.render_shift_report(xdoc, paper))
    assert "X REPORT" in text and "Net sales" in text
    assert f"{x.net_sales / 100:.2f}" in text and f"{x.expected_cash / 100:.2f}" in text
    assert re.search(r"Paid out +-\S3\.00\n", text)  # (the euro sign in the printer's code page)
    z = shift_reports.close_shift(store, cashier, counted_cash=x.expected_cash - 20,
                                  card_batch_total=x.takings_by_tender["card"])
    ztext = _text(psr.render_shift_report(psr.z_document(store, z.z_number), paper))
    assert f"Z REPORT {z.z_number}" in ztext and "REPRINT" not in ztext
    assert "Short" in ztext and "Waiting to sync" in ztext
    for line in psr.report_text(psr.z_document(store, z.z_number), chars_per_line(paper)).split("\n"):
        assert len(line) <= chars_per_line(paper), line
    again = _text(psr.render_shift_report(psr.z_document(store, z.z_number, reprint=True), paper))
    assert "REPRINT" in again


def test_z_pdf_text_and_queue_job(store, tmp_path) -> None:
    cashier = _day(store)
    z = shift_reports.close_shift(store, cashier, counted_by_denomination={5000: 1, 1000: 1, 500: 1})
    doc = psr.z_document(store, z.z_number)
    path = psr.write_shift_report_pdf(doc, tmp_path / "z.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert f"Z REPORT {z.z_number}" in text and "1 x €50.00" in text and "Expected" in text
    service = PrintService(store)
    job_id = psr.enqueue_shift_report(service, doc)
    job = service.job(job_id)
    assert (job.kind, job.status) == (psr.Z_KIND, "failed")  # no printer: kept, with the reason
    assert "no printer" in (job.last_error or "")


def _set_till_name(store, name: str) -> None:  # noqa: ANN001
    from app.store.models import Device

    with store.db.write() as s:
        device = s.get(Device, store.device_id)
        device.name = name


def _till_lines(text: str) -> list[str]:
    return [ln for ln in text.split("\n") if re.search(r"\btill\b", ln, re.IGNORECASE)]


@pytest.mark.parametrize("paper", [58, 80])
@pytest.mark.parametrize(("name", "said"), [
    ("Till", r"^Till +00$"),  # the default name: the till's code tells it apart
    ("Till 2", r"^Till 2$"),  # the name says 'Till' already: said once
    ("Front counter", r"^Till +Front counter$")])
def test_the_till_is_named_once_on_x_and_z(store, paper, name, said) -> None:
    cashier = _day(store)
    _set_till_name(store, name)
    width = chars_per_line(paper)
    x = psr.report_text(psr.x_document(store), width)
    z = shift_reports.close_shift(store, cashier, counted_cash=shift_reports.x_report(store).expected_cash)
    ztext = psr.report_text(psr.z_document(store, z.z_number), width)
    escpos = _text(psr.render_shift_report(psr.x_document(store, z.figures.shift_id), paper))
    for text in (x, ztext):
        found = _till_lines(text)
        assert len(found) == 1 and re.match(said, found[0]), found
        assert not re.search(r"Till +Till", text)
    assert not re.search(r"Till +Till", escpos)
