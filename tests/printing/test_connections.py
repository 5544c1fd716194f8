"""Connections: device files for real, serial's missing driver, USB mocked (it cannot run here)."""

from __future__ import annotations

import os
import threading

import pytest

from printing import connections
from printing.connections import (
    FileConnection,
    PrinterConfig,
    PrinterError,
    SerialConnection,
    UsbConnection,
    connection_for,
    run_with_deadline,
)
from printing.service import PrintService


def test_connection_for_each_kind():
    assert connection_for(PrinterConfig("A", "network", "10.0.0.5")).describe() == "10.0.0.5:9100"
    assert connection_for(PrinterConfig("A", "network", "10.0.0.5:9101")).describe() == "10.0.0.5:9101"
    assert connection_for(PrinterConfig("A", "usb", "04b8:0202")).describe() == "USB 04b8:0202"
    assert connection_for(PrinterConfig("A", "serial", "/dev/ttyS0", baudrate=19200)).describe() == \
        "/dev/ttyS0 @ 19200 baud"
    assert connection_for(PrinterConfig("A", "file", "/dev/usb/lp0")).describe() == "/dev/usb/lp0"


def test_file_printer_appends_each_job(tmp_path):
    target = tmp_path / "lp0"
    conn = FileConnection(str(target))
    conn.send(b"one", 1)
    conn.send(b"two", 1)
    assert target.read_bytes() == b"onetwo"


def test_missing_device_is_reported(tmp_path):
    with pytest.raises(PrinterError, match="device not found"):
        FileConnection("/dev/tillsync-no-such-printer").send(b"x", 1)


def test_blocked_device_write_times_out(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening a FIFO with no reader blocks, like a printer with its lid open
    with pytest.raises(PrinterError, match="no answer within 0.3 s"):
        FileConnection(str(fifo)).send(b"x", 0.3)
    os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # let the abandoned writer finish


def test_deadline_passes_errors_through():
    with pytest.raises(PrinterError, match="permission denied"):
        run_with_deadline(lambda: (_ for _ in ()).throw(PermissionError(13, "x")), 1)


def test_serial_without_pyserial_says_so(monkeypatch):
    monkeypatch.setattr(connections.EscposSerial, "is_usable", staticmethod(lambda: False))
    with pytest.raises(PrinterError, match="pyserial"):
        SerialConnection("/dev/ttyS0").send(b"x", 1)


class FakeUsb:
    """Stands in for escpos.printer.Usb: there is no USB printer on this machine."""

    sent: list[bytes] = []
    present = True
    opened_with: list[tuple] = []

    def __init__(self, vendor: int, product: int, timeout: int = 0) -> None:
        FakeUsb.opened_with.append((vendor, product, timeout))

    @staticmethod
    def is_usable() -> bool:
        return True

    def open(self, raise_not_found: bool = True) -> None:
        if not FakeUsb.present:
            raise RuntimeError("Device not found or cable not plugged in.")

    def _raw(self, data: bytes) -> None:
        FakeUsb.sent.append(data)

    def close(self) -> None:
        pass


@pytest.fixture
def fake_usb(monkeypatch):
    FakeUsb.sent, FakeUsb.opened_with, FakeUsb.present = [], [], True
    monkeypatch.setattr(connections, "EscposUsb", FakeUsb)
    return FakeUsb


def test_usb_connection_sends_through_python_escpos(fake_usb):
    UsbConnection(0x04B8, 0x0202).send(b"hello", 2)
    assert fake_usb.sent == [b"hello"] and fake_usb.opened_with == [(0x04B8, 0x0202, 2000)]


def test_usb_printer_unplugged_fails_the_job_and_keeps_it(store, cash_sale, fake_usb):
    svc = PrintService(store)
    svc.save_printer(PrinterConfig("Counter", "usb", "04b8:0202", default=True))
    job = svc.enqueue_receipt(cash_sale.order_id)
    fake_usb.present = False
    (outcome,) = svc.process_pending(timeout_s=2)
    assert outcome.error == "Counter (USB 04b8:0202): not found (is it plugged in and switched on?)"
    fake_usb.present = True
    svc.retry(job)
    (outcome,) = svc.process_pending(timeout_s=2)
    assert outcome.ok and cash_sale.reference.encode() in fake_usb.sent[0]


def test_file_printer_through_the_service(store, cash_sale, tmp_path):
    svc = PrintService(store)
    svc.save_printer(PrinterConfig("Spool", "file", str(tmp_path / "spool.bin"), paper_mm=58,
                                   default=True))
    svc.enqueue_receipt(cash_sale.order_id)
    assert svc.process_pending()[0].ok
    assert cash_sale.reference.encode() in (tmp_path / "spool.bin").read_bytes()


def test_concurrent_processing_sends_each_job_once(store, cash_sale, tmp_path):
    svc = PrintService(store)
    svc.save_printer(PrinterConfig("Spool", "file", str(tmp_path / "spool.bin"), default=True))
    jobs = [svc.enqueue_receipt(cash_sale.order_id) for _ in range(5)]
    threads = [threading.Thread(target=svc.process_pending) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    svc.process_pending()
    assert {j.id for j in svc.jobs(status="done")} == set(jobs)
    assert (tmp_path / "spool.bin").read_bytes().count(b"\x1dV") == 5  # five cuts, no more
