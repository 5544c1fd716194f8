"""What a customer still owes on an order, written once for the till and the server.

An order's row says what it costs (``total``), what was paid (``paid``) and what was
given back (``refunded``); its lines say how much of each was brought back
(``refunded_qty_milli``). A refund gives money back (capped by what was collected) and
may take goods back: the two need not be equal. So:

* goods brought back are worth ``returned``: per line its ``total`` × the quantity
  brought back / the quantity sold (app/domain/money.div_round; all of a line brought
  back is its whole total, however many refunds it took);
* goods brought back and not paid back (``returned - refunded``, when more than zero)
  lower what is owed: the customer no longer has them (a plan's down payment of €5.75
  refunded for tea worth €7.94: the €2.19 left of the tea is not owed);
* money given back beyond the goods brought back (a refund of money alone) lowers the
  price: it is never owed again;

hence ``owed = total - paid - max(0, returned - refunded)``. The balance due is that,
never less than zero (less than zero: more was collected than the customer keeps).
docs/sync-protocol.md "Money and order rules" says it in words.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from app.domain.money import div_round


class ReturnedLineLike(Protocol):
    @property
    def total(self) -> int: ...
    @property
    def qty_milli(self) -> int: ...
    @property
    def refunded_qty_milli(self) -> int: ...


def line_returned(total: int, qty_milli: int, refunded_qty_milli: int) -> int:
    """What the part of one line brought back is worth at the price it was sold at."""
    if qty_milli <= 0 or refunded_qty_milli <= 0:
        return 0
    return div_round(total * min(refunded_qty_milli, qty_milli), qty_milli)


def refund_line_amount(total: int, qty_milli: int, already_milli: int, qty: int) -> int:
    """What bringing back ``qty`` more of a line is worth: the difference of the line's
    value brought back after and before, so the refunds of a line add up to its total."""
    return (line_returned(total, qty_milli, already_milli + qty)
            - line_returned(total, qty_milli, already_milli))


def brought_back_by_line(refund_lines: Iterable[Iterable[object]]) -> dict[str, int]:
    """{line id: quantity (milli) brought back}, summed over refunds' ``lines`` lists (as
    stored: dicts with ``line_id`` and ``qty_milli``; anything else is skipped)."""
    back: dict[str, int] = {}
    for lines in refund_lines:
        for rl in lines or ():
            if isinstance(rl, dict) and isinstance(rl.get("qty_milli"), int):
                key = str(rl.get("line_id"))
                back[key] = back.get(key, 0) + rl["qty_milli"]
    return back


def returned_value(lines: Iterable[ReturnedLineLike]) -> int:
    """What all the goods brought back are worth (see the module doc)."""
    return sum(line_returned(li.total, li.qty_milli, li.refunded_qty_milli or 0) for li in lines)


def owed(total: int, paid: int, refunded: int, returned: int) -> int:
    """What the customer still owes; less than zero when more was collected than the
    goods they keep cost (an overpayment)."""
    return total - paid - max(0, returned - refunded)


def balance_due(total: int, paid: int, refunded: int, returned: int) -> int:
    """What is still to pay on the order: :func:`owed`, never less than zero."""
    return max(0, owed(total, paid, refunded, returned))


def kept_value(total: int, refunded: int, returned: int) -> int:
    """What the goods the customer keeps cost after returns and money given back: the
    order is refunded in full when this is nothing (and it cost something)."""
    return total - max(returned, refunded)
