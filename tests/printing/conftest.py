"""Fixtures for printing: a seeded demo store, sales in it, and a real TCP printer."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.barcode import make_variable
from app.domain.cart import Cart
from app.domain.tender import Method, Tender
from app.domain.totals import Discount
from app.services import catalog, sales, staff
from app.services.customers import CustomerDetails
from app.store.local import LocalStore
from tests.conftest import fresh_store, seed_demo

CODES = ["5400000000010", "5400000000027", "5400000000034", "5400000000102"]  # last: 23% tax


@pytest.fixture
def store(tmp_path: Path, migrated_store_file: Path) -> Iterator[LocalStore]:
    """A new store (opened with passphrase "test") with the 200-product demo, as open_store and
    demo.seed make it, from the file migrated once per test process and with the staff's
    PIN hashes made once per process (tests/conftest.py fresh_store, seed_demo)."""
    s = fresh_store(tmp_path / "data", migrated_store_file, passphrase="test")
    seed_demo(s, count=200)
    yield s
    s.close()


def ring_up(store: LocalStore, tenders: list[Tender], *, customer: str | None = None,
            weighed: bool = True, discount: bool = True) -> sales.SaleResult:
    """A sale of four products (one twice, one taxed), a weighed item and a line discount."""
    actor = staff.sign_in(store, "1003", "3333")
    cart = Cart(tax_inclusive=True)
    for code in [*CODES, CODES[1]]:
        cart.add(catalog.line_for_scan(store, code))
    if weighed:
        cart.add(catalog.line_for_scan(store, make_variable("28", "00001", 532)))
    if discount:
        cart.set_line_discount(0, Discount(percent_ppm=100_000))
    details = CustomerDetails(None, name=customer, phone="0871234567") if customer else None
    return sales.record_sale(store, actor, cart, tenders, customer=details)


@pytest.fixture
def cash_sale(store: LocalStore) -> sales.SaleResult:
    return ring_up(store, [Tender(Method.CASH, 5000)], customer="Jane Murphy")


@pytest.fixture
def card_sale(store: LocalStore) -> sales.SaleResult:
    return ring_up(store, [Tender(Method.CARD, 500)], weighed=False, discount=False)


class TcpPrinter:
    """A real socket on 127.0.0.1 standing in for a network receipt printer (port 9100)."""

    def __init__(self) -> None:
        self.port = 0
        self.jobs: list[bytes] = []
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._received = threading.Condition()

    def start(self) -> TcpPrinter:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(5)
        srv.settimeout(0.1)
        self.port = srv.getsockname()[1]
        self._server = srv
        self._thread = threading.Thread(target=self._serve, args=(srv,), daemon=True)
        self._thread.start()
        return self

    def _serve(self, srv: socket.socket) -> None:
        while self._server is srv:
            try:
                conn, _ = srv.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
            with self._received:
                self.jobs.append(data)
                self._received.notify_all()

    def stop(self) -> None:
        srv, self._server = self._server, None
        if srv is not None:
            srv.close()
        if self._thread is not None:
            self._thread.join(2)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        with self._received:
            while len(self.jobs) < count and time.monotonic() < deadline:
                self._received.wait(0.05)
        return list(self.jobs)


@pytest.fixture
def tcp_printer() -> Iterator[TcpPrinter]:
    printer = TcpPrinter().start()
    yield printer
    printer.stop()
