"""A receipt printer that needs no hardware: the slip is shown on screen and kept as a PDF.

The demo (and a till waiting for its printer) gets a working printer with this:
the job's ESC/POS bytes are read back into the lines the paper would show, written
as a PDF in the printer's folder (its ``address``), and handed to whoever listens
(the desktop shows the slip in a window). Commands (bold, size, cut, drawer kick)
are dropped; a barcode becomes a line naming its data.
"""

from __future__ import annotations

import codecs
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

from printing.connections import PrinterConnection, PrinterError

log = logging.getLogger(__name__)

SlipListener = Callable[[Path, str], None]
_listeners: list[SlipListener] = []
_listeners_lock = threading.Lock()
_numbers = count(1)

# Bytes that follow each command (ESC x / GS x), for the commands our renderer writes.
_ESC_ARGS = {b"@": 0, b"E": 1, b"!": 1, b"a": 1, b"d": 1, b"t": 1, b"-": 1, b"M": 1, b"G": 1, b"p": 3,
             b"2": 0, b"3": 1, b"J": 1, b"{": 1, b"V": 1, b"r": 1, b"c": 2}
_GS_ARGS = {b"!": 1, b"h": 1, b"w": 1, b"f": 1, b"H": 1, b"B": 1, b"L": 2, b"W": 2}


def add_listener(listener: SlipListener) -> None:
    """Call ``listener(pdf_path, text)`` for every slip printed (from the printing thread)."""
    with _listeners_lock:
        _listeners.append(listener)


def remove_listener(listener: SlipListener) -> None:
    with _listeners_lock:
        if listener in _listeners:
            _listeners.remove(listener)


def _codec(number: int) -> str:
    """The Python codec of an ESC t code page number (python-escpos' default profile)."""
    from escpos.capabilities import get_profile

    names = {int(n): name for name, n in get_profile("default").get_code_pages().items()}
    try:
        return codecs.lookup(names.get(number, "CP437")).name
    except LookupError:
        return "cp437"


def _barcode(data: bytes, at: int) -> tuple[str, int]:
    """GS k m ...: the barcode's data as text and where the command ends."""
    kind = data[at]
    if kind >= 65:  # function B: m n d1..dn
        size = data[at + 1]
        code = data[at + 2: at + 2 + size].decode("ascii", "replace")
        return code[2:] if code.startswith("{") else code, at + 2 + size
    end = data.index(b"\x00", at + 1) if b"\x00" in data[at + 1:] else len(data)
    return data[at + 1: end].decode("ascii", "replace"), end + 1


def _two_d(payload: bytes, i: int) -> tuple[int | None, bytes, int]:
    """A ``GS ( <fn> pL pH ...`` command from ``i`` (just after ``GS (``), its length in
    pL pH: for a QR code's (``GS ( k``, cn 49) function, its number (80 stores the data,
    81 prints it) and its data; None for every other such command. And where it ends."""
    if i + 3 > len(payload):
        return None, b"", len(payload)
    fn_class, length = payload[i: i + 1], payload[i + 1] + 256 * payload[i + 2]
    body, end = payload[i + 3: i + 3 + length], i + 3 + length
    if fn_class == b"k" and len(body) >= 2 and body[0] == 49:
        return body[1], body[3:], end  # the data follows cn, fn and m
    return None, b"", end


def slip_text(payload: bytes) -> str:
    """The lines an ESC/POS job prints, with its commands dropped."""
    out: list[str] = []
    codec, i, size, qr = "cp437", 0, len(payload), ""
    while i < size:
        byte = payload[i: i + 1]
        if byte in (b"\x1b", b"\x1d") and i + 1 < size:
            cmd = payload[i + 1: i + 2]
            if byte == b"\x1d" and cmd == b"k":
                code, i = _barcode(payload, i + 2)
                out.append(f"\n[barcode {code}]\n")
                continue
            if byte == b"\x1d" and cmd == b"(":
                fn, data, i = _two_d(payload, i + 2)
                if fn == 80:
                    qr = data.decode("utf-8", "replace")
                elif fn == 81:
                    out.append(f"\n[QR {qr}]\n")
                continue
            args = (_ESC_ARGS if byte == b"\x1b" else _GS_ARGS).get(cmd, 0)
            if byte == b"\x1b" and cmd == b"t":
                codec = _codec(payload[i + 2])
            if byte == b"\x1d" and cmd == b"V":
                args = 2 if i + 2 < size and payload[i + 2] in (65, 66) else 1
            i += 2 + args
            continue
        start = i
        while i < size and payload[i] not in (0x1b, 0x1d):
            i += 1
        out.append(payload[start:i].decode(codec, "replace"))
    lines = "".join(out).replace("\r", "").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n") + "\n"


def write_slip_pdf(text: str, path: Path) -> Path:
    """The slip's lines on a page 80 mm wide and as tall as they are (monospace)."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    lines = text.rstrip("\n").split("\n")
    leading, margin = 9.5, 4 * mm
    height = 2 * margin + leading * max(len(lines), 1)
    canvas = Canvas(str(path), pagesize=(80 * mm, height))
    canvas.setFont("Courier", 7.5)
    y = height - margin - 7
    for line in lines:
        canvas.drawString(margin, y, line)
        y -= leading
    canvas.showPage()
    canvas.save()
    return path


class ScreenConnection(PrinterConnection):
    """Prints to the screen: a PDF of the slip in ``folder``, then the listeners are told."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder.strip()).expanduser()

    def describe(self) -> str:
        return f"on screen, PDFs in {self.folder}"

    def send(self, payload: bytes, timeout_s: float) -> None:
        text = slip_text(payload)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = write_slip_pdf(text, self.folder / f"slip-{stamp}-{next(_numbers):04d}.pdf")
        except OSError as exc:
            raise PrinterError(f"cannot write the slip to {self.folder}: {exc.strerror or exc}") from exc
        with _listeners_lock:
            listeners = list(_listeners)
        for listener in listeners:
            # The slip is printed (its PDF is kept) whatever a listener does: one that
            # fails (a closed window's) neither fails the job nor keeps the others from it.
            try:
                listener(path, text)
            except Exception:  # noqa: BLE001 - a display, not the print
                log.warning("a slip listener failed; the slip is kept as %s", path, exc_info=True)
