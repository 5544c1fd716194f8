"""How bytes reach a receipt printer: network, USB, serial, a device file, or the screen.

Each connection sends an already rendered ESC/POS payload and either returns or
raises :class:`PrinterError` with a short reason a cashier can act on
("connection refused", "no answer within 5 s"). Connections open when a job is
sent and may block for up to ``timeout_s``: callers run them off the GUI thread.
python-escpos is used for the USB and serial drivers and hidden behind this small
interface; the network sender is our own socket code with hard timeouts. The
``screen`` printer (printing/screen_printer.py) needs no hardware: it shows the slip
and keeps it as a PDF in a folder.
"""

from __future__ import annotations

import os
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from escpos.printer import Serial as EscposSerial
from escpos.printer import Usb as EscposUsb

CONNECTION_KINDS = ("network", "usb", "serial", "file", "screen")
# What each kind needs besides its address (the settings form shows only these).
USES_PORT = ("network",)
USES_BAUD = ("serial",)
DEFAULT_PORT = 9100


class PrinterError(Exception):
    """A printer that could not be reached or did not take the job; the text says why."""


class PrinterConfigError(ValueError):
    """A printer set-up that cannot work (bad address, unknown kind); the text says what."""


@dataclass(frozen=True)
class PrinterConfig:
    """A receipt printer as the admin set it up.

    ``address`` depends on ``connection``: a host name or IP for ``network`` (port
    in ``port``), ``vendor:product`` in hex for ``usb`` (``04b8:0202``), a serial
    device for ``serial`` (``/dev/ttyUSB0``, ``COM3``; speed in ``baudrate``),
    a device or file path for ``file`` (``/dev/usb/lp0``) and the folder its PDFs
    are kept in for ``screen``.
    """

    name: str
    connection: str
    address: str
    port: int = DEFAULT_PORT
    baudrate: int = 9600
    paper_mm: int = 80
    open_drawer: bool = False
    default: bool = False

    def validate(self) -> None:
        if not self.name.strip():
            raise PrinterConfigError("Give the printer a name")
        if self.connection not in CONNECTION_KINDS:
            raise PrinterConfigError(
                f"Connection must be one of {', '.join(CONNECTION_KINDS)}, not “{self.connection}”")
        if not self.address.strip():
            raise PrinterConfigError(f"{self.name}: enter the printer's address")
        if self.paper_mm not in (58, 80):
            raise PrinterConfigError(f"{self.name}: paper width must be 58 or 80 mm")
        if self.connection == "network" and not 0 < self.port < 65536:
            raise PrinterConfigError(f"{self.name}: port must be 1 to 65535")
        if self.connection == "usb":
            usb_ids(self.address)

    @property
    def chars_per_line(self) -> int:
        return 32 if self.paper_mm == 58 else 48


def usb_ids(address: str) -> tuple[int, int]:
    """(vendor, product) from "04b8:0202"."""
    try:
        vendor, product = address.strip().split(":")
        return int(vendor, 16), int(product, 16)
    except ValueError:
        raise PrinterConfigError(
            f"USB address must be vendor:product in hex, like 04b8:0202, not “{address}”") from None


class PrinterConnection(ABC):
    """Sends one rendered job to one printer."""

    @abstractmethod
    def describe(self) -> str:
        """Where the printer is, as shown in errors ("192.168.1.50:9100")."""

    @abstractmethod
    def send(self, payload: bytes, timeout_s: float) -> None:
        """Deliver ``payload`` whole or raise PrinterError; blocks at most about ``timeout_s``."""


def _reason(exc: BaseException, timeout_s: float) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer within {timeout_s:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host name"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "connection dropped by the printer"
    if isinstance(exc, FileNotFoundError):
        return "device not found"
    if isinstance(exc, PermissionError):
        return "permission denied (is this user allowed to use the device?)"
    if isinstance(exc, OSError) and exc.errno is not None:
        return os.strerror(exc.errno).lower()
    return str(exc) or type(exc).__name__


class NetworkConnection(PrinterConnection):
    """A printer on raw TCP port 9100 (JetDirect), the usual Ethernet/Wi-Fi receipt printer."""

    def __init__(self, host: str, port: int = DEFAULT_PORT) -> None:
        self.host, self.port = host.strip(), port

    def describe(self) -> str:
        return f"{self.host}:{self.port}"

    def send(self, payload: bytes, timeout_s: float) -> None:
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout_s) as sock:
                sock.settimeout(timeout_s)
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise PrinterError(_reason(exc, timeout_s)) from exc


def run_with_deadline(fn: Callable[[], None], timeout_s: float) -> None:
    """Run a blocking device write, giving up after ``timeout_s``.

    Device files and drivers have no timeouts of their own (a printer with its
    lid open blocks the write forever); the write runs on a daemon thread so the
    queue moves on and reports the printer, and the thread ends when the OS does.
    """
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=target, name="printer-write", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise PrinterError(f"no answer within {timeout_s:g} s")
    if errors:
        exc = errors[0]
        raise exc if isinstance(exc, PrinterError) else PrinterError(_reason(exc, timeout_s)) from exc


class FileConnection(PrinterConnection):
    """A printer the OS exposes as a device file (/dev/usb/lp0), or a file for testing."""

    def __init__(self, path: str) -> None:
        self.path = path.strip()

    def describe(self) -> str:
        return self.path

    def send(self, payload: bytes, timeout_s: float) -> None:
        def write() -> None:
            is_device = self.path.startswith("/dev/")
            flags = os.O_WRONLY | os.O_APPEND | (0 if is_device else os.O_CREAT)
            fd = os.open(self.path, flags, 0o644)
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)

        run_with_deadline(write, timeout_s)


class SerialConnection(PrinterConnection):
    """A printer on an RS-232 or USB-serial port, through python-escpos (needs pyserial)."""

    def __init__(self, device: str, baudrate: int = 9600) -> None:
        self.device, self.baudrate = device.strip(), baudrate

    def describe(self) -> str:
        return f"{self.device} @ {self.baudrate} baud"

    def send(self, payload: bytes, timeout_s: float) -> None:
        if not EscposSerial.is_usable():
            raise PrinterError("serial printing needs the pyserial package, which is not installed")

        def write() -> None:
            printer = EscposSerial(devfile=self.device, baudrate=self.baudrate, timeout=timeout_s)
            printer.open()
            try:
                printer._raw(payload)
            finally:
                printer.close()

        run_with_deadline(write, timeout_s)


class UsbConnection(PrinterConnection):
    """A USB printer reached directly through libusb, through python-escpos (needs pyusb)."""

    def __init__(self, vendor_id: int, product_id: int) -> None:
        self.vendor_id, self.product_id = vendor_id, product_id

    def describe(self) -> str:
        return f"USB {self.vendor_id:04x}:{self.product_id:04x}"

    def send(self, payload: bytes, timeout_s: float) -> None:
        if not EscposUsb.is_usable():
            raise PrinterError("USB printing needs the pyusb package, which is not installed")

        def write() -> None:
            printer = EscposUsb(self.vendor_id, self.product_id, timeout=int(timeout_s * 1000))
            try:
                printer.open(raise_not_found=True)
            except Exception as exc:
                raise PrinterError("not found (is it plugged in and switched on?)") from exc
            try:
                printer._raw(payload)
            finally:
                printer.close()

        run_with_deadline(write, timeout_s)


def connection_for(cfg: PrinterConfig) -> PrinterConnection:
    """The connection a printer set-up describes (validated first)."""
    cfg.validate()
    if cfg.connection == "network":
        host, _, port = cfg.address.strip().partition(":")
        return NetworkConnection(host, int(port) if port.isdigit() else cfg.port)
    if cfg.connection == "usb":
        return UsbConnection(*usb_ids(cfg.address))
    if cfg.connection == "serial":
        return SerialConnection(cfg.address, cfg.baudrate)
    if cfg.connection == "screen":
        from printing.screen_printer import ScreenConnection

        return ScreenConnection(cfg.address)
    return FileConnection(cfg.address)


__all__ = ["CONNECTION_KINDS", "USES_PORT", "USES_BAUD", "DEFAULT_PORT", "PrinterError", "PrinterConfigError", "PrinterConfig",
           "PrinterConnection", "NetworkConnection", "FileConnection", "SerialConnection",
           "UsbConnection", "connection_for", "usb_ids", "run_with_deadline"]
