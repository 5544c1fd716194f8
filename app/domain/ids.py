"""Identifiers made on the device: UUIDv7 ids and human order references.

UUIDv7 ids sort by creation time and never collide between offline devices.
Order references look like ``GO-7K0042``: two base-32 characters of device code
given at enrollment, then the device's own counter (at least four characters).
Two devices never share a code, so references are unique without a server.
The last code, ``ZZ``, is never given to a terminal: it is the server's own, for orders
created over REST (:func:`server_reference`), so those never take a till's reference.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid

# Crockford base 32: no I, L, O, U, so a reference read aloud is unambiguous.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DEVICE_CODE_LENGTH = 2
COUNTER_MIN_LENGTH = 4
MAX_DEVICE_CODES = len(ALPHABET) ** DEVICE_CODE_LENGTH
SERVER_DEVICE_CODE = "ZZ"  # the server's own code: enrollment never hands it out
TERMINAL_DEVICE_CODES = MAX_DEVICE_CODES - 1  # device indexes 0..1022 go to terminals
REFERENCE_RE = re.compile(r"^GO-([0-9A-HJKMNP-TV-Z]{2})([0-9A-HJKMNP-TV-Z]{4,})$")


_lock = threading.Lock()
_last_ms = 0
_counter = 0
_COUNTER_MAX = 0xFFF  # the 12 bits of rand_a


def new_id() -> str:
    """A new UUIDv7 (RFC 9562) as its canonical string, increasing within this process.

    48 bits of Unix milliseconds, then a 12-bit counter (method 3 of the RFC: ids made in
    the same millisecond keep their order) and 62 random bits. Written here rather than
    taken from a package because a push makes thousands a second: this costs about a
    microsecond, where building a ``uuid.UUID`` from a system call's random bits cost
    ten. The random bits come from ``random`` (seeded from the OS and reseeded in a
    forked process): they make ids unique, not secret."""
    global _last_ms, _counter
    now_ms = time.time_ns() // 1_000_000
    with _lock:
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = random.getrandbits(10)  # headroom: at least 3,072 more this ms
        else:
            _counter += 1
            if _counter > _COUNTER_MAX:  # more than 4,096 in a millisecond: borrow the next
                _last_ms += 1
                _counter = random.getrandbits(10)
        ms, counter = _last_ms, _counter
    value = ((ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | counter << 64
             | 0b10 << 62 | random.getrandbits(62))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return True


def encode32(number: int, width: int) -> str:
    if number < 0:
        raise ValueError("negative number")
    digits = []
    while number:
        number, rem = divmod(number, 32)
        digits.append(ALPHABET[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def decode32(text: str) -> int:
    value = 0
    for ch in text.upper():
        value = value * 32 + ALPHABET.index(ch)
    return value


def device_code(index: int) -> str:
    """The enrollment-assigned code of the ``index``-th device of an organization."""
    if not 0 <= index < MAX_DEVICE_CODES:
        raise ValueError(f"device index {index} out of range 0..{MAX_DEVICE_CODES - 1}")
    return encode32(index, DEVICE_CODE_LENGTH)


def order_reference(code: str, counter: int) -> str:
    """The ``counter``-th order reference of the device with ``code`` (counter from 1)."""
    if len(code) != DEVICE_CODE_LENGTH or any(c not in ALPHABET for c in code):
        raise ValueError(f"bad device code {code!r}")
    if counter < 1:
        raise ValueError("order counter starts at 1")
    return f"GO-{code}{encode32(counter, COUNTER_MIN_LENGTH)}"


def server_reference(counter: int) -> str:
    """The ``counter``-th reference the server makes (an order created over REST)."""
    return order_reference(SERVER_DEVICE_CODE, counter)


def parse_reference(text: str) -> tuple[str, int] | None:
    """(device code, counter) of a scanned or typed reference, or None if it is not one."""
    match = REFERENCE_RE.match(text.strip().upper())
    if not match:
        return None
    return match.group(1), decode32(match.group(2))
