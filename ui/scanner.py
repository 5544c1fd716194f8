"""Barcode scanners: keyboard-wedge (by keystroke timing) and serial (QtSerialPort).

A wedge scanner "types" a code far faster than a person. The application-wide
event filter holds each printable key for at most ``max_interval_ms``: if the
next key comes sooner, it is part of a burst; a burst of ``min_length`` or more
ended by Enter (or by a pause, when the scanner sends no Enter) is a scan and is
swallowed whatever widget has focus. Anything else is replayed to the widget it
was meant for, so human typing still arrives, a few milliseconds late.

A scan never splits:
- The code is read from the text each key produced, so the keyboard layout and
  Shift/AltGr do not matter; a modifier key pressed on its own (the Shift a
  scanner presses before each capital) neither ends a burst nor is held.
- Gaps are measured with the events' own timestamps where the platform gives
  them (the time the key arrived, not the time a busy app got to it).
- A busy moment may stretch a gap: a burst already going at scanner speed
  survives two slow gaps (up to ``_STRETCH`` times the window) and one more per four fast ones.
- When the pause timer fires, keys already queued behind a busy moment are
  delivered first, so a timer that fired late does not cut a burst in two.

Typing is never overtaken: a click (or touch) that comes while a person's last keys
are still held gets them delivered first, so "Find the order" after typing GO-000001
searches GO-000001, not GO-00000 (a busy till queues the key and the click together).
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import isValid

from ui.config import ScannerConfig

log = logging.getLogger(__name__)
_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_MODIFIER_KEYS = frozenset({Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_AltGr,
                            Qt.Key.Key_Meta, Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock,
                            Qt.Key.Key_Mode_switch, Qt.Key.Key_Super_L, Qt.Key.Key_Super_R})
# Modifiers a layout needs to type a character (AltGr arrives as Ctrl+Alt on Windows).
_TYPING_MODS = (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier
                | Qt.KeyboardModifier.GroupSwitchModifier)
_ALTGR = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
_STRETCH = 8  # a slow gap in a scanner-speed burst may be this many windows long
_POINTER_PRESSES = frozenset({QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick,
                              QEvent.Type.TouchBegin, QEvent.Type.TabletPress})


@dataclass
class _Held:
    receiver: QWidget
    key: int
    modifiers: Qt.KeyboardModifier
    text: str
    scan_code: int


def _printable(event: QKeyEvent) -> bool:
    """One printable character, typed with no modifier beyond those a layout needs for it."""
    mods = event.modifiers() & ~_TYPING_MODS
    text = event.text()
    if not (len(text) == 1 and text.isprintable()):
        return False
    return mods == Qt.KeyboardModifier.NoModifier or mods == _ALTGR


class WedgeScanner(QObject):
    """Application-wide event filter that turns fast keystroke bursts into ``scanned``."""

    scanned = Signal(str)

    def __init__(self, config: ScannerConfig, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self._held: list[_Held] = []
        self._last = 0.0  # monotonic seconds of the last held key
        self._last_stamp = 0  # its event timestamp in ms (0: the platform gave none)
        self._fast = 0  # gaps in this burst within the window
        self._slow = 0  # gaps in this burst stretched by a busy moment
        self._replaying = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_pause)
        _LIVE.add(self)

    def install(self, app: QApplication) -> None:
        app.installEventFilter(self)

    @property
    def holding(self) -> bool:
        """Whether typed keys are held, not yet delivered (person or scanner, undecided):
        what a field shows lags the keys pressed until this is False."""
        return bool(self._held)

    def set_config(self, config: ScannerConfig) -> None:
        self._flush_as_typing()
        self.config = config

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if self._replaying or not self.config.wedge_enabled or not isinstance(watched, QWidget):
            return False
        etype = event.type()
        if etype == QEvent.Type.ShortcutOverride:
            # Keep a scan's Enter (or a digit) from firing a shortcut mid-burst.
            if self._held and self._within_burst():
                event.accept()
                return True
            return False
        if etype in _POINTER_PRESSES:
            if self._held and self._fast < 2:  # a person's keys, not a scanner's burst
                self._flush_as_typing()  # before the click acts on what they typed
            return False
        if etype != QEvent.Type.KeyPress:
            return False
        assert isinstance(event, QKeyEvent)
        return self._on_key(watched, event)

    def _within_burst(self) -> bool:
        window = self.config.max_interval_ms * (_STRETCH if self._fast >= 2 else 1)
        return (time.monotonic() - self._last) * 1000 <= window

    def _gap_ms(self, event: QKeyEvent) -> float:
        """Time since the last held key: by the events' timestamps when both have one."""
        stamp = event.timestamp()
        if stamp and self._last_stamp and stamp >= self._last_stamp:
            return float(stamp - self._last_stamp)
        return (time.monotonic() - self._last) * 1000

    def _joins_burst(self, gap_ms: float) -> bool:
        """Does a key ``gap_ms`` after the last one continue the held burst?"""
        window = self.config.max_interval_ms
        if gap_ms <= window:
            self._fast += 1
            return True
        if gap_ms <= window * _STRETCH and self._slow < 2 + self._fast // 4:
            self._slow += 1  # a busy moment, not a person: a person is never this fast before
            return True
        return False

    def _on_key(self, receiver: QWidget, event: QKeyEvent) -> bool:
        if event.isAutoRepeat() or event.key() in _MODIFIER_KEYS:
            return False  # Shift before a capital is part of typing that character, not a pause
        joined = bool(self._held) and self._joins_burst(self._gap_ms(event))
        if self._held and not joined:
            self._flush_as_typing()
        if event.key() in _ENTER:
            if joined and self._burst_is_scan():
                self._emit_scan()
                return True
            if self._held:  # a short burst then Enter: it was typing, keep the order
                self._flush_as_typing()
            return False
        if not _printable(event):
            self._flush_as_typing()
            return False
        self._held.append(_Held(receiver, event.key(), event.modifiers(), event.text(), event.nativeScanCode()))
        self._last = time.monotonic()
        self._last_stamp = event.timestamp()
        window = self.config.max_interval_ms
        # Once a burst runs at scanner speed, wait out a busy moment before calling it typing.
        self._timer.start(window * _STRETCH + 1 if self._fast >= 2 else window + 1)
        return True

    def _burst_is_scan(self) -> bool:
        return len(self._code()) >= self.config.min_length

    def _code(self) -> str:
        text = "".join(h.text for h in self._held)
        prefix, suffix = self.config.prefix, self.config.suffix
        if prefix and text.startswith(prefix):
            text = text[len(prefix):]
        if suffix and text.endswith(suffix):
            text = text[: -len(suffix)]
        return text.strip()

    def _on_pause(self) -> None:
        """No key for a while: a burst without Enter is a scan only if the scanner sends none."""
        held = len(self._held)
        QApplication.processEvents()  # keys queued behind a busy moment come first
        if not self._held or len(self._held) != held:
            return  # the burst went on (its timer restarted) or ended while they arrived
        if not self.config.enter_terminates and len(self._held) > 1 and self._burst_is_scan():
            self._emit_scan()
        else:
            self._flush_as_typing()

    def _reset(self) -> None:
        self._held = []
        self._fast = self._slow = 0
        self._timer.stop()

    def _emit_scan(self) -> None:
        code = self._code()
        self._reset()
        log.debug("wedge scan %r", code)
        self.scanned.emit(code)

    def _flush_as_typing(self) -> None:
        """Give held keys back to the widgets they were typed into, in order (none to a
        widget deleted while they were held: a screen closed or rebuilt meanwhile)."""
        held = self._held
        self._reset()
        self._replaying = True
        try:
            for h in held:
                if not isValid(h.receiver):
                    continue
                for etype in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                    ev = QKeyEvent(etype, h.key, h.modifiers, h.scan_code, 0, 0, h.text)
                    QApplication.sendEvent(h.receiver, ev)
        finally:
            self._replaying = False


class SerialScanner(QObject):
    """A scanner on a serial port (or USB CDC); each line it sends is one code."""

    scanned = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._port = None
        self._buffer = b""

    def open(self, port_name: str, baud: int) -> bool:
        """Open the port; a missing port is reported through ``failed``, never raised."""
        from PySide6.QtSerialPort import QSerialPort

        self.close()
        if not port_name:
            return False
        port = QSerialPort(self)
        port.setPortName(port_name)
        port.setBaudRate(baud)
        if not port.open(QSerialPort.OpenModeFlag.ReadOnly):
            self.failed.emit(f"Cannot open scanner port {port_name}: {port.errorString()}")
            port.deleteLater()
            return False
        port.readyRead.connect(self._on_ready)
        self._port = port
        return True

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port.deleteLater()
            self._port = None
        self._buffer = b""

    def feed(self, data: bytes) -> None:
        """Split what the port sent into codes (public so it can be tested without a device)."""
        self._buffer += data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            code = line.decode("ascii", "replace").strip()
            if code:
                self.scanned.emit(code)

    def _on_ready(self) -> None:
        if self._port is not None:
            self.feed(bytes(self._port.readAll().data()))


def available_ports() -> list[str]:
    from PySide6.QtSerialPort import QSerialPortInfo

    return [p.portName() for p in QSerialPortInfo.availablePorts()]


#: every scanner filter alive (one per desktop window; tests may make more)
_LIVE: weakref.WeakSet[WedgeScanner] = weakref.WeakSet()


def holding_keys() -> bool:
    """Whether any scanner filter of this process holds typed keys (see
    :attr:`WedgeScanner.holding`): tests wait on it before reading a typed field."""
    return any(s.holding for s in list(_LIVE) if isValid(s))
