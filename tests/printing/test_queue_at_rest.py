"""The print queue at rest: job bytes sealed with the till's key, printed jobs pruned.

A real queue file (print_queue.sqlite), a real store and a real TCP printer.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.domain.tender import Method, Tender
from app.store.local import LocalStore
from printing.connections import PrinterConfig
from printing.escpos_output import render_receipt
from printing.queue import DEFAULT_KEEP_PRINTED, QUEUE_FILE, PrintJobError, PrintQueue
from printing.receipt import build_receipt
from printing.service import PrintService
from tests.printing.conftest import TcpPrinter, ring_up

NAME = "Ann Customer"


def _queue_bytes(store: LocalStore) -> bytes:
    """The queue file and its write-ahead log, as a thief copying them would read them."""
    data_dir = Path(store.data_dir)
    return b"".join(p.read_bytes() for p in data_dir.glob(QUEUE_FILE + "*") if p.is_file())


def _age(path: Path, job_id: str, days: float) -> None:
    """Make a job look ``days`` old (last touched then)."""
    then = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE jobs SET created_at = ?, updated_at = ? WHERE id = ?", (then, then, job_id))
    db.close()


def _ids(queue: PrintQueue) -> set[str]:
    return {j.id for j in queue.jobs(limit=1000)}


def test_a_queued_receipt_keeps_no_name_in_clear_and_prints_it(store: LocalStore,
                                                              tcp_printer: TcpPrinter) -> None:
    sale = ring_up(store, [Tender(Method.CASH, 5000)], customer=NAME)
    svc = PrintService(store)
    svc.save_printer(PrinterConfig("Front", "network", "127.0.0.1", port=tcp_printer.port,
                                   default=True))
    job = svc.enqueue_receipt(sale.order_id)
    expected = render_receipt(build_receipt(store, sale.order_id), 80)
    assert NAME.encode() in expected  # the receipt itself names the customer

    assert NAME.encode() not in _queue_bytes(store)  # pending, at rest
    assert svc.queue.get(job).payload == expected  # opened again for the sender

    assert [o.ok for o in svc.process_pending(timeout_s=3)] == [True]
    assert tcp_printer.wait_for(1) == [expected]  # the printer gets the very bytes
    assert NAME.encode() not in _queue_bytes(store)  # done, at rest

    copy = svc.reprint(sale.order_id)  # a reprint is sealed too, and prints
    assert [o.ok for o in svc.process_pending(timeout_s=3)] == [True]
    assert NAME.encode() in tcp_printer.wait_for(2)[1]
    assert svc.queue.get(copy).view.kind == "reprint"
    assert NAME.encode() not in _queue_bytes(store)


def test_a_failed_job_is_sealed_and_retried_to_another_printer(store: LocalStore,
                                                               tcp_printer: TcpPrinter) -> None:
    sale = ring_up(store, [Tender(Method.CARD, 500)], customer=NAME)
    svc = PrintService(store)
    job = svc.enqueue_receipt(sale.order_id)  # no printer yet: kept as failed
    assert svc.queue.get(job).view.status == "failed"
    assert NAME.encode() not in _queue_bytes(store)
    svc.save_printer(PrinterConfig("Back", "network", "127.0.0.1", port=tcp_printer.port,
                                   default=True, paper_mm=58))
    svc.retry(job)
    assert [o.ok for o in svc.process_pending(timeout_s=3)] == [True]
    assert NAME.encode() in tcp_printer.wait_for(1)[0]
    assert NAME.encode() not in _queue_bytes(store)


def test_printed_jobs_are_pruned_after_the_set_time_failed_ones_kept(store: LocalStore) -> None:
    svc = PrintService(store)
    queue = svc.queue
    assert queue.keep_printed() == DEFAULT_KEEP_PRINTED == timedelta(days=7)
    old_done, new_done, old_failed, old_pending = (
        queue.add("Front", "receipt", b"\x1b@" + NAME.encode()) for _ in range(4))
    for job in (old_done, new_done):
        queue.finish(job, None)
    queue.finish(old_failed, "Front (127.0.0.1:9100): connection refused")
    for job, days in ((old_done, 8), (new_done, 6), (old_failed, 30), (old_pending, 30)):
        _age(queue.path, job, days)

    assert queue.prune() == 1
    assert _ids(queue) == {new_done, old_failed, old_pending}
    with pytest.raises(PrintJobError):
        queue.get(old_done)
    assert queue.get(old_failed).payload == b"\x1b@" + NAME.encode()  # kept until someone acts

    queue.set_keep_printed(timedelta(days=5))  # the setting, kept in the queue file
    reopened = PrintService(store).queue  # pruned when the queue opens
    assert reopened.keep_printed() == timedelta(days=5)
    assert _ids(reopened) == {old_failed, old_pending}


def test_an_old_queue_file_is_sealed_when_opened(store: LocalStore) -> None:
    """A queue file written by the version that kept receipts in clear (schema 1)."""
    path = Path(store.data_dir) / QUEUE_FILE
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
              printer TEXT NOT NULL, kind TEXT NOT NULL, order_id TEXT, reference TEXT,
              payload BLOB NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
              last_error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
            PRAGMA user_version = 1;""")
        now = datetime.now(UTC).isoformat()
        old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
        for job_id, status, when in (("j-failed", "failed", now), ("j-done", "done", old)):
            db.execute("INSERT INTO jobs (id, printer, kind, payload, status, created_at,"
                       " updated_at) VALUES (?, 'Front', 'receipt', ?, ?, ?, ?)",
                       (job_id, b"\x1b@" + NAME.encode() + b"\n", status, when, when))
    db.close()
    assert NAME.encode() in _queue_bytes(store)

    queue = PrintService(store).queue
    assert NAME.encode() not in _queue_bytes(store)
    assert queue.get("j-failed").payload == b"\x1b@" + NAME.encode() + b"\n"
    assert _ids(queue) == {"j-failed"}  # the 40-day-old printed job is gone


def test_a_job_sealed_under_another_key_says_so(store: LocalStore, tmp_path: Path) -> None:
    from app.store.crypto import PersonalDataCipher

    other = PrintQueue(tmp_path / "q" / QUEUE_FILE, cipher=PersonalDataCipher(b"\x01" * 32))
    job = other.add("Front", "receipt", b"\x1b@hello")
    foreign = PrintQueue(other.path, cipher=store.cipher)
    with pytest.raises(PrintJobError, match="cannot be opened"):
        foreign.get(job)
