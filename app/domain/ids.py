"""Identifiers made on the device: UUIDv7 ids and human order references.

UUIDv7 ids sort by creation time and never collide between offline devices.
Order references look like ``GO-7K0042``: two base-32 characters of device code
given at enrollment, then the device's own counter (at least four characters).
Two devices never share a code, so references are unique without a server.
"""

from __future__ import annotations

import re
import uuid

import uuid6

# Crockford base 32: no I, L, O, U, so a reference read aloud is unambiguous.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DEVICE_CODE_LENGTH = 2
COUNTER_MIN_LENGTH = 4
MAX_DEVICE_CODES = len(ALPHABET) ** DEVICE_CODE_LENGTH
REFERENCE_RE = re.compile(r"^GO-([0-9A-HJKMNP-TV-Z]{2})([0-9A-HJKMNP-TV-Z]{4,})$")


def new_id() -> str:
    """A new UUIDv7 as its canonical string."""
    return str(uuid6.uuid7())


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


def parse_reference(text: str) -> tuple[str, int] | None:
    """(device code, counter) of a scanned or typed reference, or None if it is not one."""
    match = REFERENCE_RE.match(text.strip().upper())
    if not match:
        return None
    return match.group(1), decode32(match.group(2))
