"""The range of every number and the length of every text, defined once.

The till checks a value against these before writing it, the wire models in
``sync/payloads.py`` and the back office's schemas publish them in the OpenAPI schema
(``ge``/``le``/``max_length``), and the server checks them again before anything reaches
a column. Each limit fits the narrower of the terminal's and the server's columns
(the server's integer columns are 32-bit on PostgreSQL), so a value one side takes is
never one the other side's database refuses, and a value out of range is refused with
words, never an overflow or a database error.

Money is in minor units: ``MAX_AMOUNT`` is 10,000,000.00 in a two-decimal currency.
A sum of amounts (an order's ``paid``) is held to the same limit by the rules that add
to it. Quantities are in thousandths (``qty_milli``): ``MAX_QTY_MILLI`` is a million
units or kilograms on one line or in one stock movement.
"""

from __future__ import annotations

MAX_INT32 = 2**31 - 1

# Numbers
MAX_AMOUNT = 1_000_000_000  # minor units: any price, line, order total, payment, refund
MAX_QTY_MILLI = 1_000_000_000  # thousandths of a unit: one line, one stock movement
MAX_PPM = 1_000_000  # parts per million: a tax rate or a percentage discount, 100 %
MAX_COUNT = MAX_INT32  # sequence numbers, versions, positions, installment numbers
MAX_OFFSET = 10_000_000  # a page's offset in a REST list
MAX_PAGE = 1000  # rows in one page of a REST list
MAX_INSTALLMENTS = 120  # a payment plan's installments
MAX_LINES = 1000  # lines on one order
MAX_DENOMINATIONS = 40  # notes and coins in one count of a drawer
MAX_PIECES = 1_000_000  # notes or coins of one denomination in one count

# Texts (characters)
ID_LENGTH = 36  # a UUID in its canonical form
MAX_REFERENCE = 40  # an order's GO- reference
MAX_CODE = 64  # an SKU, a barcode, a staff code
MAX_METHOD = 30  # a tender's name
MAX_CURRENCY = 3  # ISO 4217
MAX_NAME = 200  # a product's, a person's, a line's name
MAX_CATEGORY = 100
MAX_PHONE = 40
MAX_EMAIL = 254
MAX_REASON = 500  # why an order was deleted or refunded, a stock movement's reason
MAX_NOTE = 2000  # an order's note
MAX_DECISION_NOTE = 1000  # a manager's note on deciding an approval
MAX_MOVEMENT_REFERENCE = 100  # a stock movement's delivery note number


def fits(value: int, low: int, high: int) -> bool:
    """Whether ``value`` is a whole number (not a bool) in ``low..high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
