"""First start: connect this till to a server (or try the demo), then the first sync.

Why a screen: a fresh install used to open a sign-in screen with no staff and
"Offline (not enrolled)", and enrolling needed the command line. Here the admin types
(or scans) the server's address and the one-time enrollment code that
``tillsync-server create-org`` / ``enrollment-code`` printed (a scanned
``tillsync://enroll?server=…&code=…`` fills both), checks the server's certificate
when it is self-signed (its SHA-256 fingerprint is shown to compare with the server's),
and connects. The first sync then shows what it loads, how many, and the time left; it
can be stopped and started again (the snapshot starts over, nothing half-applied stays).

The network work runs off the GUI thread (ui/ops.py) in an asyncio loop of its own;
progress comes back through a Qt signal.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from app.domain.words import count_of
from app.store.local import LocalStore
from sync.client import PINNED_CERT
from sync.enroll import check_server_url, enroll
from sync.service import SyncReport, SyncService, client_factory_for
from ui.ops import Ops
from ui.widgets.common import action_button, heading

LINK_SCHEME = "tillsync"


def read_link(text: str) -> tuple[str, str] | None:
    """(server, code) of a ``tillsync://enroll?server=…&code=…`` link, else None."""
    parsed = urlparse(text.strip())
    if parsed.scheme != LINK_SCHEME or parsed.netloc != "enroll":
        return None
    query = parse_qs(parsed.query)
    server, code = query.get("server", [""])[0], query.get("code", [""])[0]
    return (server, code) if server and code else None


@dataclass
class Certificate:
    """What the till shows of the server's certificate."""

    fingerprint: str  # SHA-256 of the DER, colon-separated hex
    self_signed: bool  # not trusted by this machine's certificate authorities
    problem: str | None = None
    pem: str = ""


def fetch_certificate(url: str, timeout: float = 5.0) -> Certificate | None:
    """The certificate of an https server (None for http). Self-signed: the usual
    verification fails; the fingerprint lets the admin compare it with the server's."""
    parsed = urlparse(url)
    if parsed.scheme != "https":
        return None
    host, port = parsed.hostname or "", parsed.port or 443
    pem = ssl.get_server_certificate((host, port), timeout=timeout)
    der = ssl.PEM_cert_to_DER_cert(pem)
    digest = hashlib.sha256(der).hexdigest().upper()
    fingerprint = ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
    try:
        import socket

        with socket.create_connection((host, port), timeout=timeout) as sock, \
                ssl.create_default_context().wrap_socket(sock, server_hostname=host):
            return Certificate(fingerprint, self_signed=False, pem=pem)
    except ssl.SSLCertVerificationError as exc:
        return Certificate(fingerprint, self_signed=True, problem=exc.verify_message, pem=pem)


def fingerprint_lines(fingerprint: str, per_line: int = 8) -> str:
    """The fingerprint in lines of ``per_line`` bytes: read group by group, and on one
    line its 95 characters made the 640 px first-run window 700 px wide (issue 21)."""
    parts = fingerprint.split(":")
    return "\n".join(":".join(parts[i:i + per_line]) for i in range(0, len(parts), per_line))


def pin_certificate(data_dir: Path, pem: str) -> None:
    """Trust this (self-signed) certificate, and only it, for this till's server from now
    on (sync/client.py ``server_trust``)."""
    path = Path(data_dir) / PINNED_CERT
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(pem)


class FirstRunScreen(QWidget):
    """Connect to a server or try the demo; then the first sync."""

    finished = Signal(object)  # the SyncReport of the first sync
    demo_requested = Signal()
    _progress = Signal(int, object)

    def __init__(self, store: LocalStore, ops: Ops, parent: QWidget | None = None, *,
                 passphrase: str | None = None) -> None:
        super().__init__(parent)
        self.store, self.ops, self.passphrase = store, ops, passphrase
        self.certificate: Certificate | None = None
        self._cancel: tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]] | None = None
        self._started = 0.0
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Welcome to Tillsync"))
        intro = QLabel("Connect this till to your shop's server with the enrollment "
                       "code your admin made, or try the demo first.")
        intro.setWordWrap(True)  # unwrapped it made the 640 px window 851 px wide (issue 21)
        layout.addWidget(intro)
        form = QFormLayout()
        self.address = QLineEdit(placeholderText="https://tills.example.com")
        self.code = QLineEdit(placeholderText="XXXXX-XXXXX, or scan the enrollment QR code")
        self.name = QLineEdit(store.device().name or "Till")
        form.addRow("Server address", self.address)
        form.addRow("Enrollment code", self.code)
        form.addRow("Name of this till", self.name)
        layout.addLayout(form)
        self.cert_label = QLabel("")
        self.cert_label.setWordWrap(True)
        self.trust = QCheckBox("I compared this fingerprint with the server's and it matches")
        self.trust.setVisible(False)
        layout.addWidget(self.cert_label)
        layout.addWidget(self.trust)
        self.connect_button = action_button("Connect", "Enter", kind="primary")
        self.demo_button = action_button("Try the demo", "F2")
        self.stop_button = action_button("Stop", "Esc")
        self.stop_button.setVisible(False)
        for button in (self.connect_button, self.demo_button, self.stop_button):
            layout.addWidget(button)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.code.textChanged.connect(self._maybe_link)
        self.connect_button.clicked.connect(self.start)
        self.demo_button.clicked.connect(self.demo_requested.emit)
        self.stop_button.clicked.connect(self.stop)
        self._progress.connect(self._show_progress)

    # ------------------------------------------------------------ input

    def _maybe_link(self, text: str) -> None:
        link = read_link(text)
        if link is not None:
            self.address.setText(link[0])
            self.code.setText(link[1])

    def _say(self, text: str) -> None:
        self.status.setText(text)

    def start(self) -> None:
        """Check the address, show the certificate, then enroll and sync."""
        url, code = self.address.text().strip(), self.code.text().strip().upper()
        if not url or not code:
            self._say("Type the server's address and the enrollment code.")
            return
        try:
            check_server_url(url)
        except Exception as exc:  # noqa: BLE001 - said in words
            self._say(str(exc))
            return
        if url.startswith("https") and (self.certificate is None or not self.trust.isVisible()):
            self._busy(True, "Checking the server's certificate…")
            self.ops.run(lambda: fetch_certificate(url), success=self._certificate_seen,
                         failure=self._failed)
            return
        if self.certificate is not None and self.certificate.self_signed \
                and not self.trust.isChecked():
            self._say("The server's certificate is self-signed: compare its fingerprint "
                      "with the one the server shows, then tick the box.")
            return
        if self.certificate is not None and self.certificate.self_signed:
            pin_certificate(self.store.data_dir, self.certificate.pem)
        self._busy(True, "Connecting…")
        self.ops.run(lambda: self._enroll_and_sync(url, code, self.name.text().strip()),
                     success=self._done, failure=self._failed)

    def _certificate_seen(self, cert: Certificate | None) -> None:
        self.certificate = cert
        self._busy(False, "")
        if cert is None:
            return
        if cert.self_signed:
            self.cert_label.setText(f"This server's certificate is self-signed "
                                    f"({cert.problem}).\nSHA-256 fingerprint:\n"
                                    f"{fingerprint_lines(cert.fingerprint)}")
            self.trust.setVisible(True)
            self._say("Check the fingerprint, then press Connect again.")
            return
        self.cert_label.setText(f"Certificate trusted. SHA-256:\n{fingerprint_lines(cert.fingerprint)}")
        self.trust.setVisible(True)
        self.trust.setChecked(True)
        self.start()

    # ------------------------------------------------------------ the work (off the GUI thread)

    def _enroll_and_sync(self, url: str, code: str, name: str) -> SyncReport:
        async def work() -> SyncReport:
            if not self.store.device().server_url:  # a second Connect after Stop only syncs
                await enroll(self.store, url, code, name or None, passphrase=self.passphrase)
            self._progress.emit(0, None)
            service = SyncService(self.store, client_factory_for(self.store, self.passphrase),
                                  progress=lambda done, total: self._progress.emit(done, total))
            return await service.run_once()

        loop = asyncio.new_event_loop()
        try:
            task = loop.create_task(work())
            self._cancel = (loop, task)
            return loop.run_until_complete(task)
        finally:
            self._cancel = None
            loop.close()

    def stop(self) -> None:
        """Stop the first sync; Connect starts it again (the till is enrolled by then)."""
        if self._cancel is not None:
            loop, task = self._cancel
            loop.call_soon_threadsafe(task.cancel)

    # ------------------------------------------------------------ back on the GUI thread

    def _busy(self, busy: bool, text: str) -> None:
        self.connect_button.setEnabled(not busy)
        self.demo_button.setEnabled(not busy)
        self.stop_button.setVisible(busy)
        self._say(text)

    def _show_progress(self, done: int, total: int | None) -> None:
        self.progress.setVisible(True)
        if done == 0 or not self._started:
            self._started = time.monotonic()
        if not total:
            self.progress.setRange(0, 0)
            self._say(f"Loading the shop's data: {count_of(done, 'item')} so far…")
            return
        self.progress.setRange(0, total)
        self.progress.setValue(min(done, total))
        left = ""
        elapsed = time.monotonic() - self._started
        if 0 < done < total and elapsed > 0.5:
            left = f", about {max(1, round(elapsed / done * (total - done)))} s left"
        self._say(f"Loading products, staff, stock and orders: {done:,} of {total:,}{left}")

    def _done(self, report: SyncReport) -> None:
        self._busy(False, "")
        self.progress.setRange(0, max(1, report.pull.pulled))
        self.progress.setValue(max(1, report.pull.pulled))
        self._say(f"Connected to {self.store.device().server_url}: "
                  f"{count_of(report.pull.pulled, 'item')} loaded. This till is ready.")
        self.finished.emit(report)

    def _failed(self, exc: BaseException) -> bool:
        self._busy(False, "")
        if isinstance(exc, asyncio.CancelledError):
            self._say("Stopped. Press Connect to continue the first sync.")
        else:
            self._say(f"Could not connect: {exc}")
        if self.store.device().server_url:  # enrolled: a second Connect only syncs
            self.code.setEnabled(False)
        return True
