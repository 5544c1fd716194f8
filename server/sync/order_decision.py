"""order.create decided in one pure step, for both ways the server writes it.

The ORM handler (``orders.order_create``: one op in a savepoint, the back office's
orders too) and the bulk push writer (``server.sync.bulk``: a run of ops written one
statement per table) each read what the decision needs from the database, in one
:class:`Known` (``bulk_run.load`` for both), then call :func:`decide`. It reads nothing
and writes nothing: it answers :class:`Refused` with the reason in words, or
:class:`Applied` with the rows to write, the flags, the audit entry, the feed entries
(the order's state built by server/feed/serialize.py) and the webhook events. Each
caller then writes those its own way.

A sale made at the till already happened: what the till could not have known (a
changed price, an unknown or inactive product, stock going negative, totals that
differ from the server's computation, a reference another order holds, a discount the
actor may not give) is a flag, never a refusal. What no correct till sends is refused
with the words of the shared rules (app/domain/order_rules.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from app.domain import order_rules, stock_rules
from app.domain.ids import new_id
from app.domain.limits import MAX_AMOUNT, MAX_LINES, MAX_PPM, MAX_QTY_MILLI
from app.domain.money import div_round
from app.domain.operations import CATALOGUE, Entity, OpType
from app.domain.order_rules import RuleError
from app.domain.order_status import status_for_balance
from app.domain.permissions import Action, allowed
from app.domain.tender import may_exceed_balance, over_balance_message
from app.domain.totals import MILLI, Discount, DiscountError, LineInput, compute, tax_of
from server.feed.serialize import (
    line_state_of,
    movement_state_of,
    order_state_of,
    payment_state_of,
)
from server.sync.common import Rejected, jsonable, parse_payload
from sync.payloads import OrderCreate, OrderLineData, PaymentData

# ------------------------------------------------------------------ inputs


class ProductFacts(Protocol):
    """What a line's product tells the decision (bulk_run.ProductRow)."""

    @property
    def org_id(self) -> str: ...
    @property
    def price(self) -> int: ...
    @property
    def active(self) -> bool: ...
    @property
    def deleted(self) -> bool: ...
    @property
    def stock_tracked(self) -> bool: ...


class Known(Protocol):
    """What was read from the database for the decision (bulk_run.Run): the products
    the lines name; which order ids, order line ids, payment ids and (org, reference)
    pairs exist; each (store, product) stock level. A run counts what it decided
    before as existing, so a later op of the same run sees the earlier ones."""

    @property
    def products(self) -> Mapping[str, ProductFacts]: ...
    @property
    def orders(self) -> Collection[str]: ...
    @property
    def lines(self) -> Collection[str]: ...
    @property
    def payments(self) -> Collection[str]: ...
    @property
    def references(self) -> Collection[tuple[str, str]]: ...
    @property
    def levels(self) -> Mapping[tuple[str, str], int]: ...
    @property
    def counted(self) -> Mapping[tuple[str, str], datetime]: ...


@dataclass(frozen=True)
class Envelope:
    """The op's facts: who sends it from where, and when the server received it.

    ``device_id`` is None for the back office's orders, whose references the server
    made (``server_reference``: in the range no terminal holds)."""

    op_id: str
    order_id: str  # the op's entity_id
    org_id: str
    store_id: str
    device_id: str | None
    actor_id: str
    actor_name: str
    actor_role: str
    now: datetime
    server_reference: bool = False
    #: the store's currency (bulk_run.load reads it); None: not checked
    currency: str | None = None

    def can(self, action: Action) -> bool:
        return allowed(self.actor_role, action)

    def require(self, action: Action) -> None:
        if not self.can(action):
            role = self.actor_role
            raise Rejected(f"{self.actor_name} is a {role}, and a {role} may not do "
                           f"{action.value}")

    def require_any(self, actions: tuple[Action, ...]) -> None:
        """One of ``actions`` (a catalogue permission), else refused for the first."""
        for action in actions:
            if self.can(action):
                return
        self.require(actions[0])


# ------------------------------------------------------------------ outputs


@dataclass(frozen=True)
class Refused:
    """The op is rejected (and quarantined) with ``reason``, for a person."""

    reason: str


@dataclass
class Applied:
    """What an applied order.create writes; rows are plain column values.

    ``order`` lacks ``customer_phone_index`` (the writer's cipher adds it); ``levels``
    is each changed (store, product) level's quantity after this sale; ``feed`` the
    entries (entity type, id, state) in the order they are appended, all version 1.
    ``movements`` are the stock_movements rows to write: only the compensations of a
    sale made before a count; each sale movement is its line (``stock_after_milli``;
    migration 0021), published in ``feed`` as before."""

    order: dict[str, Any]
    lines: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    movements: list[dict[str, Any]]
    levels: dict[tuple[str, str], int]
    flags: list[str]
    audit: dict[str, Any]
    state: dict[str, Any]
    feed: list[tuple[str, str, dict[str, Any]]]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


Decision = Applied | Refused


# ------------------------------------------------------------------ shared checks


@contextmanager
def rules() -> Iterator[None]:
    """A broken money or order rule rejects the op with the rule's words."""
    try:
        yield
    except RuleError as exc:
        raise Rejected(str(exc)) from exc


def check_order_create(p: OrderCreate, *, server_reference: bool = False) -> None:
    """What rejects an order.create by its payload alone: shape, ranges, payments, the
    schedule. ``server_reference``: the reference was made by the server (REST)."""
    with rules():
        order_rules.check_reference(p.reference, from_server=server_reference)
        if not _lines_plainly_fit(p):  # else the rules, for their words
            order_rules.check_lines(p.lines, derived=[
                {"gross": li.gross, "net": li.net, "tax": li.tax, "total": li.total}
                for li in p.lines])
            order_rules.check_order_amounts(
                {"subtotal": p.subtotal, "discount": p.discount, "tax": p.tax,
                 "total": p.total},
                discount_ppm=p.order_discount_percent_ppm,
                discount_amount=p.order_discount_amount)
        _check_signs(p)
        paid = 0
        for pay in p.payments:
            order_rules.check_payment(pay.amount, pay.method, tendered=pay.tendered,
                                      change=pay.change)
            order_rules.check_sum(paid, pay.amount, "The payments on this order")
            if paid + pay.amount > p.total and not may_exceed_balance(pay.method):
                raise RuleError(over_balance_message(pay.method))
            paid += pay.amount
        order_rules.check_schedule(p.total - paid, p.installments, p.currency)
        order_rules.check_plan_customer(p.installments, p.customer)


def _check_signs(p: OrderCreate) -> None:
    """A line's computed amount in range, and a sale's money never below zero: the till
    refuses a negative price (app/domain/cart.py set_price, the catalogue's Price) and a
    discount beyond the line (app/domain/totals.py), and a return is a refund, its own op."""
    check_line_signs(p.lines)
    for name in ("subtotal", "discount", "tax", "total"):
        if getattr(p, name) < 0:
            raise RuleError(f"The order's {name} cannot be negative")


def check_line_signs(lines: list[OrderLineData]) -> None:
    """Each line's computed amount in range and no price or amount below zero: a sale's
    lines, and an order edit's (server/sync/order_edits.py)."""
    for n, li in enumerate(lines, 1):
        # what the server computes from the line must fit too, not only what the till
        # wrote (1e9 x 1e6 units with the till's figures at 100 was applied, flagged)
        order_rules.check_amount(div_round(li.unit_price * li.qty_milli, MILLI),
                                 f"Line {n}: unit_price × qty_milli", signed=True)
        if li.unit_price < 0:
            raise RuleError(f"Line {n}: the unit price cannot be negative (a return is a "
                            "refund)")
        for name in ("gross", "net", "tax", "total"):
            if getattr(li, name) < 0:
                raise RuleError(f"Line {n}: the {name} cannot be negative")


_INTS = {n: (int,) * n for n in (6, 9)}


def _lines_plainly_fit(p: OrderCreate) -> bool:
    """True only when ``order_rules.check_lines`` and ``check_order_amounts`` would pass:
    the same conditions, tested without building each check's words (they cost a push
    of sales as much as the rest of the checks). Anything else (a bool or a value out of
    range, a repeated line id) answers False and the rules themselves judge. Written out
    rather than through a helper: a call per value cost as much as the words did."""
    lines = p.lines
    if not lines or len(lines) > MAX_LINES:
        return False
    low, high, ppm, qty = -MAX_AMOUNT, MAX_AMOUNT, MAX_PPM, MAX_QTY_MILLI
    for li in lines:
        values = (li.qty_milli, li.unit_price, li.tax_rate_ppm, li.discount_percent_ppm,
                  li.discount_amount, li.gross, li.net, li.tax, li.total)
        if tuple(map(type, values)) != _INTS[9]:  # (not a bool: the rules refuse one)
            return False
        q, price, rate, pct, off, gross, net, tax, total = values
        if not (0 < q <= qty and 0 <= rate <= ppm and 0 <= pct <= ppm and 0 <= off <= high
                and low <= price <= high and low <= gross <= high and low <= net <= high
                and low <= tax <= high and low <= total <= high):
            return False
    if len({li.id for li in lines}) != len(lines):
        return False
    amounts = (p.subtotal, p.discount, p.tax, p.total, p.order_discount_percent_ppm,
               p.order_discount_amount)
    if tuple(map(type, amounts)) != _INTS[6]:
        return False
    subtotal, discount, tax, total, pct, off = amounts
    return (low <= subtotal <= high and low <= discount <= high and low <= tax <= high
            and low <= total <= high and 0 <= pct <= ppm and 0 <= off <= high)


def line_ids_taken(taken: list[str]) -> Rejected:
    return Rejected(f"line id {sorted(taken)[0]} is already used by another order; "
                    "each line of each order needs its own id")


def line_inputs(lines: list[OrderLineData]) -> list[LineInput]:
    return [
        LineInput(li.unit_price, li.qty_milli, li.tax_rate_ppm,
                  Discount(li.discount_percent_ppm, li.discount_amount))
        for li in lines
    ]


# ------------------------------------------------------------------ the decision


#: the feed's entity types as plain str: the bulk writer's driver binds an enum member
#: more slowly (server/sync/bulk.py)
_ORDER, _MOVEMENT = Entity.ORDER.value, Entity.STOCK_MOVEMENT.value
_SELL = CATALOGUE[OpType.ORDER_CREATE].permission
#: a sale that carries payments records them: the actor needs payment.record's right too
#: (whatever the payload: payment.record's permission has no ``by_field``)
_PAY = CATALOGUE[OpType.PAYMENT_RECORD].permission.actions_for(None)


def decide(payload: dict[str, Any], env: Envelope, known: Known, *,
           parsed: OrderCreate | None = None) -> Decision:
    """Decide one order.create. The payload is parsed here, after the actor's right to
    sell is checked (a stock person's malformed sale is refused for the right); the
    push's dispatch did both already when it passes ``parsed``."""
    try:
        if parsed is None:
            env.require_any(_SELL.actions_for(payload))
            parsed = parse_payload(OrderCreate, payload)
        p = parsed
        _check(p, env, known)
        flags = _flags(p, env, known.products)
        server_totals = _server_totals(p, flags)
        if (env.org_id, p.reference) in known.references:
            flags.append("duplicate_reference")
        if p.payments:
            env.require_any(_PAY)
    except Rejected as exc:
        return Refused(exc.reason)
    return _applied(p, env, known, flags, server_totals)


def _check(p: OrderCreate, env: Envelope, known: Known) -> None:
    if p.store_id != env.store_id:
        raise Rejected("the order's store_id is not this terminal's store")
    if env.currency is not None and p.currency != env.currency:
        raise Rejected(f"currency {p.currency} is not this store's currency {env.currency}")
    if env.order_id in known.orders:
        raise Rejected(f"order {env.order_id} already exists (sent with another op_id)")
    check_order_create(p, server_reference=env.server_reference)
    if taken := [li.id for li in p.lines if li.id in known.lines]:
        raise line_ids_taken(taken)
    if p.payments:
        _check_payment_ids(p.payments, known.payments)


def _check_payment_ids(payments: list[PaymentData], recorded: Collection[str]) -> None:
    """A new sale's payments are new: an id the server holds is another order's (as
    payment.record refuses it), and one listed twice is one payment or two, which the
    server cannot tell. Either was applied with the payment left out, the order short of
    what the till took."""
    seen: set[str] = set()
    for pay in payments:
        if pay.id in recorded:
            raise Rejected(f"payment id {pay.id} is already used by another order; each "
                           "payment needs its own id")
        if pay.id in seen:
            raise Rejected(f"payment id {pay.id} is listed twice on this sale; each "
                           "payment needs its own id")
        seen.add(pay.id)


def _flags(p: OrderCreate, env: Envelope, products: Mapping[str, ProductFacts]) -> list[str]:
    """What the till could not have known about its lines and discounts."""
    flags: list[str] = []

    def flag(name: str) -> None:
        if name not in flags:
            flags.append(name)

    for li in p.lines:
        product = products.get(li.product_id) if li.product_id else None
        if product is None or product.org_id != env.org_id:
            flag("unknown_product")
            continue
        if product.deleted or not product.active:
            flag("inactive_product")
        if product.price != li.unit_price and not li.unit_price < 0:
            flag("price_changed")
        if (li.discount_percent_ppm or li.discount_amount) and not env.can(
                Action.SALE_LINE_DISCOUNT):
            flag("discount_not_permitted")
    if (p.order_discount_percent_ppm or p.order_discount_amount) and not env.can(
            Action.SALE_ORDER_DISCOUNT):
        flag("discount_not_permitted")
    return flags


def _server_totals(p: OrderCreate, flags: list[str]) -> dict[str, Any] | None:
    """The totals the server computes (None for a discount it cannot apply), flagging
    ``totals_mismatch`` or ``invalid_discount``; and each line's gross, net, tax and
    total, flagging ``line_totals_mismatch`` (the lines that differ, with the server's
    figures, under ``lines``: the audit entry keeps them). Flagged, never refused: the
    till computes with the same app/domain/totals.py, so a difference is a bug or a
    forgery for a manager to see, and the sale was made."""
    differing: list[dict[str, Any]] = []
    if p.order_discount_percent_ppm or p.order_discount_amount or any(
            li.discount_percent_ppm or li.discount_amount for li in p.lines):
        try:
            t = compute(line_inputs(p.lines),
                        Discount(p.order_discount_percent_ppm, p.order_discount_amount),
                        inclusive=p.tax_inclusive)
        except DiscountError:
            flags.append("invalid_discount")
            return None
        totals: dict[str, Any] = {"subtotal": t.subtotal, "discount": t.discount,
                                  "tax": t.tax, "total": t.total}
        for n, (li, lt) in enumerate(zip(p.lines, t.lines, strict=True), 1):
            if (li.gross, li.net, li.tax, li.total) != (lt.gross, lt.net, lt.tax, lt.total):
                differing.append(_line_figures(n, li.id, lt.gross, lt.net, lt.tax, lt.total))
    else:  # most sales: no discount anywhere
        totals = undiscounted_totals(p.lines, p.tax_inclusive, differing)
    with rules():
        order_rules.check_order_amounts({f"{name} (as the server computes it)": value
                                         for name, value in totals.items()})
    if totals != {"subtotal": p.subtotal, "discount": p.discount, "tax": p.tax,
                  "total": p.total}:
        flags.append("totals_mismatch")
    if differing:
        flags.append("line_totals_mismatch")
        totals["lines"] = differing
    return totals


def _line_figures(n: int, line_id: str, gross: int, net: int, tax: int, total: int
                  ) -> dict[str, Any]:
    """A line the till figured otherwise: its number (from 1), id, the server's figures."""
    return {"line": n, "id": line_id, "gross": gross, "net": net, "tax": tax, "total": total}


def undiscounted_totals(lines: list[OrderLineData], inclusive: bool,
                        differing: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``compute``'s totals (app/domain/totals.py) of lines none of which has a discount,
    in an order without one: each line's net is its gross (a discount of 0 takes nothing
    off and spreads nothing), its tax ``tax_of`` that. The same arithmetic without the
    frozen inputs and results compute builds, a fifth of a sale's decision
    (tests/server/test_order_decision_totals.py holds the two equal). ``differing``
    gets the lines whose gross, net, tax or total is not the server's."""
    subtotal = tax = total = 0
    for n, li in enumerate(lines, 1):
        gross = div_round(li.unit_price * li.qty_milli, MILLI)
        line_tax = tax_of(gross, li.tax_rate_ppm, inclusive)
        line_total = gross if inclusive else gross + line_tax
        subtotal += gross
        tax += line_tax
        total += line_total
        if differing is not None and (li.gross != gross or li.net != gross
                                      or li.tax != line_tax or li.total != line_total):
            differing.append(_line_figures(n, li.id, gross, gross, line_tax, line_total))
    return {"subtotal": subtotal, "discount": 0, "tax": tax, "total": total}


def _applied(p: OrderCreate, env: Envelope, known: Known, flags: list[str],
             server_totals: dict[str, Any] | None) -> Applied:
    """Nothing below refuses: the rows, feed entries and events of the sale."""
    added = _new_payments(p.payments, known.payments)
    paid = sum(pay.amount for pay in added)
    if paid > p.total:
        flags.append("overpaid")  # cash beyond the total (other tenders are refused)
    moved, movements, levels, negative = _stock(p, env, known)
    if negative:
        flags.append("negative_stock")
    order = _order_row(p, env, paid, list(flags))
    order_id = env.order_id
    # a line's values as model_dump() gives them (its fields are plain values), read
    # without the serializer: a sale's lines are a tenth of the decision's time; a line
    # that took stock is its own sale movement (stock_after_milli: the level after it)
    lines = [{**li.__dict__, "order_id": order_id, "position": pos,
              "stock_after_milli": moved.get(li.id)}
             for pos, li in enumerate(p.lines)]
    payments = [_payment_row(pay, env) for pay in added]
    state = order_state_of(
        order, [line_state_of(li) for li in lines],
        [payment_state_of(r) for r in (sorted(payments, key=_by_time) if len(payments) > 1
                                       else payments)], [])
    feed = [(_MOVEMENT, m["id"], movement_state_of(m)) for m in movements]
    feed.append((_ORDER, order_id, state))
    events = [("offline_order.created", state)]
    events += [("payment.received", {"order_id": order_id, "reference": p.reference,
                                     "payment": _payment_data(pay)})
               for pay in added]
    audit = {"created": {"before": None, "after": {"reference": p.reference,
                                                   "total": p.total}},
             "server_totals": server_totals, "flags": list(flags)}
    rows = [m for m in movements if m["kind"] != stock_rules.SALE]  # (a sale's are its lines)
    return Applied(order, lines, payments, rows, levels, list(flags), audit, state,
                   feed, events)


def _payment_data(pay: PaymentData) -> dict[str, Any]:
    """``jsonable(pay.model_dump())``: the payment's plain values, its ``created_at`` as
    its str() (tests/server/test_order_decision_rows.py holds the two equal)."""
    return {**pay.__dict__, "created_at": str(pay.created_at)}


def _new_payments(payments: list[PaymentData], recorded: Collection[str]
                  ) -> list[PaymentData]:
    """The payments not recorded before (by id), each once: append-only, as
    payment.record."""
    seen: set[str] = set()
    added = []
    for pay in payments:
        if pay.id in recorded or pay.id in seen:
            continue
        seen.add(pay.id)
        added.append(pay)
    return added


def _stock(p: OrderCreate, env: Envelope, known: Known
           ) -> tuple[dict[str, int], list[dict[str, Any]], dict[tuple[str, str], int], bool]:
    """A sale movement per line of a stock-tracked product of the org, in line order,
    each level after them (a level not read counts as 0: it is created at 0), and
    whether a level went below zero.

    Returns each moving line's level after it (by line id), every movement in order (a
    sale's, then its compensation if any: the feed's entries), the levels and the flag.
    A sale movement's id is its line's id (unique among lines: ``_check``; and among
    stock_movements rows: bulk_run's look-up counts their ids as taken line ids), so the
    line is the movement (migration 0021): only compensations are written as rows."""
    levels: dict[tuple[str, str], int] = {}
    moved: dict[str, int] = {}
    movements: list[dict[str, Any]] = []
    negative = False
    for li in p.lines:
        pid = li.product_id
        product = known.products.get(pid) if pid else None
        if pid is None or product is None or product.org_id != env.org_id \
                or not product.stock_tracked:
            continue
        key = (env.store_id, pid)
        qty = levels.get(key, known.levels.get(key, 0)) - li.qty_milli
        levels[key] = moved[li.id] = qty
        negative = negative or qty < 0
        sale = {
            "id": li.id, "org_id": env.org_id, "store_id": env.store_id,
            "product_id": pid, "kind": stock_rules.SALE, "qty_delta_milli": -li.qty_milli,
            "qty_after_milli": qty, "reason": None, "reference": p.reference,
            "actor_id": env.actor_id, "device_id": env.device_id, "created_at": p.created_at,
        }
        movements.append(sale)
        counted_at = known.counted.get(key)
        if stock_rules.needs_compensation(p.created_at, counted_at):
            # sold before a count that is already in: the count stands (stock_rules)
            assert counted_at is not None
            levels[key] = qty = qty + li.qty_milli
            movements.append(sale | {
                "id": new_id(), "kind": stock_rules.COUNT_FIX, "qty_delta_milli": li.qty_milli,
                "qty_after_milli": qty, "reference": sale["id"], "device_id": None,
                "reason": stock_rules.late_reason(stock_rules.SALE, p.created_at, counted_at),
                "created_at": counted_at})
    return moved, movements, levels, negative


def _order_row(p: OrderCreate, env: Envelope, paid: int, flags: list[str]) -> dict[str, Any]:
    # what order_rules.next_status gives from pending (every balance status is forward
    # of it), without walking the status machine for each sale
    status = status_for_balance(p.total, paid, 0).value
    return {
        "id": env.order_id, "org_id": env.org_id, "store_id": env.store_id,
        "reference": p.reference, "status": status, "currency": p.currency,
        "tax_inclusive": p.tax_inclusive, "is_offline": p.is_offline,
        "customer": p.customer.model_dump() if p.customer else None,  # strings only
        "order_discount_percent_ppm": p.order_discount_percent_ppm,
        "order_discount_amount": p.order_discount_amount, "subtotal": p.subtotal,
        "discount": p.discount, "tax": p.tax, "total": p.total, "paid": paid,
        "refunded": 0, "note": p.note, "flags": flags,
        "installments": (jsonable([i.model_dump() for i in p.installments])
                         if p.installments else []),
        "created_at": p.created_at, "created_by": env.actor_id, "device_id": env.device_id,
        "deleted_reason": None, "deleted_by": None, "version": 1,
        "received_at": env.now, "updated_at": env.now,
    }


def _payment_row(pay: PaymentData, env: Envelope) -> dict[str, Any]:
    return {
        "id": pay.id, "org_id": env.org_id, "store_id": env.store_id,
        "order_id": env.order_id, "method": pay.method, "amount": pay.amount,
        "tendered": pay.tendered, "change": pay.change, "installment_id": pay.installment_id,
        "actor_id": env.actor_id, "device_id": env.device_id, "created_at": pay.created_at,
        "received_at": env.now,
    }


def _by_time(row: dict[str, Any]) -> tuple[datetime, str]:
    created: datetime = row["created_at"]
    utc = created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)
    return utc, row["id"]
