"""The print service against a real TCP printer: queue, failure, retry, persistence."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from app.domain.money import format_plain
from app.domain.tender import Method, Tender
from app.store.local import LocalStore
from printing.connections import PrinterConfig, PrinterConfigError
from printing.queue import QUEUE_FILE, PrintJobError
from printing.receipt import ReceiptError
from printing.service import NO_PRINTER, PrintService
from tests.printing.conftest import TcpPrinter, ring_up

CUT = b"\x1dV"
DRAWER_KICK = b"\x1bp\x00"  # ESC p 0: pulse on pin 2
EURO = b"\xa4"  # the euro sign in code page 15 (ISO 8859-15), which python-escpos selects


def network(name: str, port: int, **kw) -> PrinterConfig:
    return PrinterConfig(name, "network", "127.0.0.1", port=port, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cash_receipt_reaches_the_network_printer_with_cut_and_drawer_kick(store, cash_sale, tcp_printer):
    svc = PrintService(store)
    svc.save_printer(network("Front till", tcp_printer.port, open_drawer=True, default=True))
    job = svc.enqueue_receipt(cash_sale.order_id, open_drawer=cash_sale.cash_tendered)
    outcomes = svc.process_pending(timeout_s=3)
    assert [(o.job_id, o.printer, o.ok, o.error) for o in outcomes] == [(job, "Front till", True, None)]
    (data,) = tcp_printer.wait_for(1)
    assert cash_sale.reference.encode() in data
    assert b"\x1dkI" in data  # GS k 73: CODE128 barcode of the reference
    total = format_plain(cash_sale.total).encode()
    assert b"TOTAL" in data and EURO + total in data  # "€13.53", € in ISO 8859-15
    assert CUT in data and data.index(CUT) < data.index(DRAWER_KICK)
    assert svc.jobs()[0].status == "done"


def test_card_sale_does_not_open_the_drawer(store, card_sale, tcp_printer):
    svc = PrintService(store)
    svc.save_printer(network("Front till", tcp_printer.port, open_drawer=True, default=True))
    svc.enqueue_receipt(card_sale.order_id, open_drawer=True)
    svc.process_pending(timeout_s=3)
    (data,) = tcp_printer.wait_for(1)
    assert CUT in data and DRAWER_KICK not in data


def test_dead_printer_keeps_the_job_failed_and_retry_prints_it(store, cash_sale, tcp_printer):
    svc = PrintService(store)
    svc.save_printer(network("Front till", tcp_printer.port, default=True))
    tcp_printer.stop()
    job = svc.enqueue_receipt(cash_sale.order_id)
    (outcome,) = svc.process_pending(timeout_s=2)
    assert not outcome.ok and outcome.printer == "Front till"
    expected = f"Front till (127.0.0.1:{tcp_printer.port}): connection refused"
    assert outcome.error == expected
    (view,) = svc.jobs()
    assert (view.id, view.status, view.attempts, view.last_error) == (job, "failed", 1, expected)
    assert svc.process_pending(timeout_s=1) == []  # failed stays failed until retried

    tcp_printer.start()  # same port
    svc.retry(job)
    assert svc.jobs(status="pending")[0].id == job
    (outcome,) = svc.process_pending(timeout_s=3)
    assert outcome.ok
    (data,) = tcp_printer.wait_for(1)
    assert cash_sale.reference.encode() in data
    view = svc.jobs()[0]
    assert (view.status, view.attempts, view.last_error) == ("done", 2, None)
    with pytest.raises(PrintJobError, match="reprint"):
        svc.retry(job)


def test_queue_survives_reopening(store, cash_sale, card_sale, tmp_path):
    port = free_port()  # nothing listens: the jobs wait
    svc = PrintService(store)
    svc.save_printer(network("Front till", port, paper_mm=58, default=True))
    first = svc.enqueue_receipt(cash_sale.order_id)
    second = svc.enqueue_receipt(card_sale.order_id)
    assert (Path(store.data_dir) / QUEUE_FILE).exists()

    reopened = PrintService(store)
    assert [p.name for p in reopened.printers()] == ["Front till"]
    assert reopened.printers()[0].paper_mm == 58
    assert [j.id for j in reopened.jobs(status="pending")] == [second, first]
    printer = TcpPrinter()
    printer.port = port
    printer.start()
    try:
        outcomes = reopened.process_pending(timeout_s=3)
        assert [o.job_id for o in outcomes] == [first, second]  # in the order they were made
        data = printer.wait_for(2)
        assert cash_sale.reference.encode() in data[0] and card_sale.reference.encode() in data[1]
    finally:
        printer.stop()


def test_no_printer_configured_keeps_a_failed_job_that_a_new_printer_takes(store, cash_sale, tcp_printer):
    svc = PrintService(store)
    job = svc.enqueue_receipt(cash_sale.order_id)
    (view,) = svc.jobs()
    assert (view.id, view.status, view.last_error, view.order_id) == (job, "failed", NO_PRINTER,
                                                                     cash_sale.order_id)
    assert svc.process_pending() == []
    svc.save_printer(network("Back office", tcp_printer.port, paper_mm=58))
    svc.retry(job)
    (outcome,) = svc.process_pending(timeout_s=3)
    assert outcome.ok and outcome.printer == "Back office"
    (data,) = tcp_printer.wait_for(1)
    assert cash_sale.reference.encode() in data


def test_unknown_printer_name_keeps_a_failed_job(store, cash_sale):
    svc = PrintService(store)
    job = svc.enqueue_receipt(cash_sale.order_id, printer="Kitchen")
    view = svc.jobs()[0]
    assert (view.id, view.status, view.printer) == (job, "failed", "Kitchen")
    assert "Kitchen" in view.last_error


def test_a_dead_printer_does_not_hold_up_another(store, cash_sale, card_sale, tcp_printer):
    svc = PrintService(store)
    svc.save_printer(network("Dead", free_port()))
    svc.save_printer(network("Alive", tcp_printer.port, default=True))
    dead = svc.enqueue_receipt(cash_sale.order_id, printer="Dead")
    alive = svc.enqueue_receipt(card_sale.order_id, printer="Alive")
    outcomes = {o.job_id: o for o in svc.process_pending(timeout_s=2)}
    assert outcomes[alive].ok and not outcomes[dead].ok
    assert "Dead (127.0.0.1:" in outcomes[dead].error
    assert card_sale.reference.encode() in tcp_printer.wait_for(1)[0]


def test_a_failure_stops_that_printers_line_so_jobs_keep_their_order(store, cash_sale, card_sale):
    svc = PrintService(store)
    svc.save_printer(network("Front till", free_port(), default=True))
    first = svc.enqueue_receipt(cash_sale.order_id)
    second = svc.enqueue_receipt(card_sale.order_id)
    (outcome,) = svc.process_pending(timeout_s=1)
    assert outcome.job_id == first and not outcome.ok
    assert [j.id for j in svc.jobs(status="pending")] == [second]


def test_silent_printer_times_out_instead_of_hanging(store, cash_sale):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never reads: a printer with its lid open
    try:
        svc = PrintService(store)
        svc.save_printer(network("Jammed", listener.getsockname()[1], default=True))
        big = svc.enqueue_receipt(cash_sale.order_id)
        job = svc.queue.get(big)
        svc.queue.requeue(big, payload=job.payload * 20_000)  # more than the socket buffers hold
        (outcome,) = svc.process_pending(timeout_s=0.5)
        assert not outcome.ok and outcome.error.endswith("no answer within 0.5 s")
    finally:
        listener.close()


def test_reprint_is_marked_as_a_copy_and_never_opens_the_drawer(store, cash_sale, tcp_printer):
    svc = PrintService(store)
    svc.save_printer(network("Front till", tcp_printer.port, open_drawer=True, default=True))
    job = svc.reprint(cash_sale.order_id)
    svc.process_pending(timeout_s=3)
    (data,) = tcp_printer.wait_for(1)
    assert b"COPY - REPRINT" in data and DRAWER_KICK not in data
    assert svc.jobs()[0].id == job and svc.jobs()[0].kind == "reprint"


def test_test_page_prints_the_printer_name(store, tcp_printer):
    svc = PrintService(store)
    svc.save_printer(network("Front till", tcp_printer.port, paper_mm=58))
    svc.enqueue_test_page("Front till")
    (outcome,) = svc.process_pending(timeout_s=3)
    assert outcome.ok
    data = tcp_printer.wait_for(1)[0]
    assert b"Front till" in data and CUT in data
    with pytest.raises(PrinterConfigError):
        svc.enqueue_test_page("Nowhere")


def test_printer_settings_default_and_removal(store):
    svc = PrintService(store)
    svc.save_printer(network("A", 9100, default=True))
    svc.save_printer(network("B", 9100, default=True))
    assert [(p.name, p.default) for p in svc.printers()] == [("A", False), ("B", True)]
    svc.save_printer(network("A", 9101))
    assert [(p.name, p.port) for p in svc.printers()] == [("A", 9101), ("B", 9100)]
    svc.remove_printer("B")
    assert [p.name for p in svc.printers()] == ["A"]


@pytest.mark.parametrize(("cfg", "message"), [
    (PrinterConfig("", "network", "1.2.3.4"), "name"),
    (PrinterConfig("X", "bluetooth", "1.2.3.4"), "Connection must be"),
    (PrinterConfig("X", "network", " "), "address"),
    (PrinterConfig("X", "network", "1.2.3.4", paper_mm=76), "58 or 80"),
    (PrinterConfig("X", "usb", "epson"), "vendor:product"),
])
def test_bad_printer_settings_are_refused_with_a_message(store, cfg, message):
    with pytest.raises(PrinterConfigError, match=message):
        PrintService(store).save_printer(cfg)


def test_unknown_order_is_a_programming_error_not_a_job(store):
    svc = PrintService(store)
    with pytest.raises(ReceiptError):
        svc.enqueue_receipt("0190aaaa-0000-7000-8000-000000000000")
    assert svc.jobs() == []


def test_pending_sale_prints_its_balance(store, tcp_printer):
    sale = ring_up(store, [Tender(Method.CARD, 500)])
    svc = PrintService(store)
    svc.save_printer(network("Front till", tcp_printer.port, default=True))
    svc.enqueue_receipt(sale.order_id)
    svc.process_pending(timeout_s=3)
    assert b"BALANCE DUE" in tcp_printer.wait_for(1)[0]


def test_preview_text_and_pdfs_via_the_service(store: LocalStore, cash_sale, tmp_path):
    svc = PrintService(store)
    text = svc.preview_text(cash_sale.order_id, width=32)
    assert cash_sale.reference in text and all(len(x) <= 32 for x in text.splitlines())
    assert svc.receipt_pdf(cash_sale.order_id, tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    assert svc.invoice_pdf(cash_sale.order_id, tmp_path / "i.pdf").read_bytes().startswith(b"%PDF")
