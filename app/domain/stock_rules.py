"""Exact stock counts: the rules the till and the server share.

A count says "at ``counted_at`` there were ``counted_milli`` of this product on the
shelves". The server makes its ledger agree: the count's movement is whatever makes
the sum of the movements dated up to ``counted_at`` equal the count, and a movement
dated at or before the store's latest count that arrives after it (a sale rung up
offline, then pushed) gets a compensating movement dated at that count, so the count
still holds. Stock after a count is therefore always the counted quantity plus the
movements dated after it; a till's on-hand stays the plain sum of its movements (it
gets the server's movements from the feed). docs/sync-protocol.md, "Stock counts".
"""

from __future__ import annotations

from datetime import UTC, datetime

# ------------------------------------------------------------------ movement kinds
# A stock movement's ``kind`` (stock_movements.kind, on the till and on the server, and
# on the feed). Stored words: migrations write them as literals and are never changed.

#: goods sold on an order line (on the server the line itself is the movement, 0021)
SALE = "sale"
#: goods back on a refund
REFUND = "refund"
#: goods in from a supplier
RECEIVE = "receive"
#: a correction by hand, with a reason
ADJUST = "adjust"
#: an exact count: the movement that makes the ledger equal what was counted
COUNT = "count"
#: a movement the server writes so that a count still holds (never made at a till)
COUNT_FIX = "count_fix"

#: a count moving stock by more than this share of what the books said is listed for a
#: recount (parts per million: 250 000 = 25 %); each store can set its own
DEFAULT_RECOUNT_SHARE_PPM = 250_000


def count_movement(counted_milli: int, ledger_at_count_milli: int) -> int:
    """The movement that makes the ledger up to the count equal the count."""
    return counted_milli - ledger_at_count_milli


def supersedes(counted_at: datetime, last_counted_at: datetime | None) -> bool:
    """Whether a count at ``counted_at`` is the store's latest count of the product
    (a count dated at or before the latest one changes nothing: it is superseded)."""
    return last_counted_at is None or _aware(counted_at) > _aware(last_counted_at)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def needs_compensation(dated: datetime, last_counted_at: datetime | None) -> bool:
    """Whether a movement dated ``dated`` arrives too late: a count made after it
    already fixed the stock, so the server writes the opposite movement at that count."""
    return last_counted_at is not None and _aware(dated) <= _aware(last_counted_at)


def late_reason(kind: str, dated: datetime, counted_at: datetime) -> str:
    """Words for a compensation: which movement came late, against which count (UTC)."""
    return (f"a {kind} dated {_aware(dated):%Y-%m-%d %H:%M:%S} arrived after the stock "
            f"count of {_aware(counted_at):%Y-%m-%d %H:%M:%S} UTC")


def moved_too_much(moved_milli: int, before_milli: int, share_ppm: int) -> bool:
    """A count that moved stock by more than ``share_ppm`` of what the books said
    before it. An opening count (the books said zero) is no surprise: not listed."""
    if moved_milli == 0 or before_milli == 0:
        return False
    return abs(moved_milli) * 1_000_000 > share_ppm * abs(before_milli)


def pulled_movement(held_kind: str | None, held_delta: int | None, kind: str, delta: int,
                    mine: bool) -> str:
    """What a till does with a stock movement from the feed: ``insert`` it, ``update``
    the one it holds (its own count, which the server set against its own ledger), or
    ``skip`` it (held already, or ``mine``: this till's own sale or adjustment, made
    locally with its own ids). A compensation is the server's: always taken."""
    if held_kind is not None:
        return "update" if held_kind == COUNT and held_delta != delta else "skip"
    if kind != COUNT_FIX and mine:
        return "skip"
    return "insert"


# ------------------------------------------------------------------ the reconciliation list

#: the kinds of item on the reconciliation list (app/services/stock_reconcile.py):
#: negative stock, a count that moved stock a lot, the server's compensation (count_fix)
NEGATIVE, LARGE_COUNT, COMPENSATION = "negative", "count", "compensation"
REVIEW_KINDS = (NEGATIVE, LARGE_COUNT, COMPENSATION)
#: the longest key an item is accepted under (``negative:<product id>:<on hand>``)
MAX_REVIEW_KEY = 120


def review_key(kind: str, ref: str, on_hand_milli: int = 0) -> str:
    """The key an item is accepted under, the same on every till and on the server:
    ``negative:<product id>:<on hand milli>`` (a negative quantity that changes comes
    back), ``count:<movement id>``, ``compensation:<movement id>``."""
    return f"{kind}:{ref}:{on_hand_milli}" if kind == NEGATIVE else f"{kind}:{ref}"


def parse_review_key(key: str) -> tuple[str, str, int | None] | None:
    """(kind, product or movement id, on hand of a negative item) of a key, or None for
    one that is not the shape of :func:`review_key`."""
    parts = key.split(":")
    if len(parts) == 3 and parts[0] == NEGATIVE and parts[1]:
        try:
            qty = int(parts[2])
        except ValueError:
            return None
        return (NEGATIVE, parts[1], qty) if qty < 0 and key == review_key(NEGATIVE, parts[1], qty) \
            else None
    if len(parts) == 2 and parts[0] in (LARGE_COUNT, COMPENSATION) and parts[1]:
        return parts[0], parts[1], None
    return None


def recount_share_problem(share_ppm: object) -> str | None:
    """Words for a recount share a store may not have (more than 0 %, at most 100 %)."""
    if not isinstance(share_ppm, int) or isinstance(share_ppm, bool) \
            or not 0 < share_ppm <= 1_000_000:
        return "The recount share is more than 0 % and at most 100 % (1 to 1,000,000 ppm)"
    return None
