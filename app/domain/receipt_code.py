"""The code a receipt carries so anyone can check it against the journal.

A receipt's QR code reads ``TS1:<reference>:<code>``. The code is ten characters of
base32 (A-Z, 2-7) of SHA-256 over what both journals record of the sale: the order's
id (a UUIDv7 made at the till, never printed), its reference and its total in minor
units. The till journals them when the sale is recorded; the server's journal entry
for the order's ``order.create`` holds the same three, so the server recomputes the
code from its journal (docs/journal.md). A receipt whose reference, total or code was
changed, or one made up without the order's id, does not match.
"""

from __future__ import annotations

import base64
import hashlib

PREFIX = "TS1"
CODE_LENGTH = 10


class ReceiptCodeError(ValueError):
    """Text that is not a Tillsync receipt code."""


def receipt_code(order_id: str, reference: str, total: int) -> str:
    """The ten-character code of a sale (uppercase base32, no padding)."""
    digest = hashlib.sha256(f"tillsync-receipt/1\n{order_id}\n{reference}\n{total}".encode()).digest()
    return base64.b32encode(digest).decode()[:CODE_LENGTH]


def receipt_qr_text(reference: str, code: str) -> str:
    """What the QR code holds: only QR alphanumeric characters, so the symbol stays small."""
    return f"{PREFIX}:{reference}:{code}"


def parse_receipt_text(text: str) -> tuple[str, str]:
    """(reference, code) from a scanned QR text (``TS1:GO-AB0001:K7Q2M9XW4P``)."""
    parts = text.strip().split(":")
    if len(parts) != 3 or parts[0].upper() != PREFIX:
        raise ReceiptCodeError(f"{text!r} is not a receipt code (expected {PREFIX}:<reference>:<code>)")
    reference, code = parts[1].strip().upper(), parts[2].strip().upper()
    if not reference or len(code) != CODE_LENGTH:
        raise ReceiptCodeError(f"{text!r} is not a receipt code (the code has {CODE_LENGTH} characters)")
    return reference, code
