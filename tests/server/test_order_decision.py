"""order_decision.decide on its own: no database, only what was read, in and out.

The paths that write its answer are compared in tests/server/test_order_create_paths.py;
here the decision is called with plain values, as both paths call it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.domain.ids import new_id, order_reference
from app.domain.totals import Discount, LineInput, compute
from server.sync.order_decision import Applied, Envelope, Refused, decide

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
ORG, STORE, DEVICE, ACTOR = new_id(), new_id(), new_id(), new_id()


@dataclass(frozen=True)
class Product:
    org_id: str
    price: int
    active: bool = True
    deleted: bool = False
    stock_tracked: bool = True


@dataclass
class Read:
    """What a path would have read from the database."""

    products: dict[str, Product] = field(default_factory=dict)
    orders: set[str] = field(default_factory=set)
    lines: set[str] = field(default_factory=set)
    payments: set[str] = field(default_factory=set)
    references: set[tuple[str, str]] = field(default_factory=set)
    levels: dict[tuple[str, str], int] = field(default_factory=dict)
    counted: dict[tuple[str, str], datetime] = field(default_factory=dict)


def _env(role: str = "cashier", order_id: str | None = None) -> Envelope:
    return Envelope(new_id(), order_id or new_id(), ORG, STORE, DEVICE, ACTOR, "Ann", role,
                    NOW)


def _payload(order_id: str, lines: list[tuple[str | None, int, int]], paid: bool = True
             ) -> dict[str, Any]:
    rows = []
    for product_id, price, qty in lines:
        t = compute([LineInput(price, qty, 200_000)], inclusive=True).lines[0]
        rows.append({"id": new_id(), "product_id": product_id, "name": "Item",
                     "unit_price": price, "qty_milli": qty, "tax_rate_ppm": 200_000,
                     "gross": t.gross, "net": t.net, "tax": t.tax, "total": t.total})
    t = compute([LineInput(li["unit_price"], li["qty_milli"], 200_000, Discount())
                 for li in rows], inclusive=True)
    payments = [{"id": new_id(), "order_id": order_id, "method": "cash", "amount": t.total,
                 "tendered": t.total, "created_at": NOW.isoformat()}] if paid else []
    return {"reference": order_reference("AB", 1), "store_id": STORE, "currency": "EUR",
            "tax_inclusive": True, "lines": rows, "subtotal": t.subtotal,
            "discount": t.discount, "tax": t.tax, "total": t.total, "payments": payments,
            "created_at": NOW.isoformat()}


def test_a_sale_gives_its_rows_flags_feed_and_events() -> None:
    milk = new_id()
    read = Read(products={milk: Product(ORG, 199)}, levels={(STORE, milk): 1500})
    env = _env()
    d = decide(_payload(env.order_id, [(milk, 150, 1000), (milk, 150, 1000)]), env, read)
    assert isinstance(d, Applied)
    assert d.flags == ["price_changed", "negative_stock"]
    assert d.order["status"] == "completed" and d.order["paid"] == d.order["total"]
    # each line is its own sale movement (no row: migration 0021), id the line's
    assert d.movements == []
    assert [li["stock_after_milli"] for li in d.lines] == [500, -500]
    assert d.levels == {(STORE, milk): -500}
    assert read.levels == {(STORE, milk): 1500}  # what was read is left as it was
    assert [(kind, entity) for kind, entity, _ in d.feed] == [
        ("stock_movement", d.lines[0]["id"]), ("stock_movement", d.lines[1]["id"]),
        ("order", env.order_id)]
    assert [state["qty_on_hand_milli"] for _, _, state in d.feed[:2]] == [500, -500]
    assert d.state["created_at"] == NOW.isoformat() and d.state["version"] == 1
    assert d.state["payments"][0]["created_at"] == NOW.isoformat()
    assert [e for e, _ in d.events] == ["offline_order.created", "payment.received"]
    assert d.audit["flags"] == d.flags


def test_a_sale_before_a_count_keeps_its_compensation_as_a_row() -> None:
    """The sale movement is the line; the count_fix that undoes it (the sale arrived
    after a later count) is the one row to write, and names the line."""
    milk, tea = new_id(), new_id()
    counted = NOW.replace(year=NOW.year + 1)
    read = Read(products={milk: Product(ORG, 150), tea: Product(ORG, 90, stock_tracked=False)},
                levels={(STORE, milk): 3000}, counted={(STORE, milk): counted})
    env = _env()
    d = decide(_payload(env.order_id, [(milk, 150, 1000), (tea, 90, 1000)]), env, read)
    assert isinstance(d, Applied)
    assert [li["stock_after_milli"] for li in d.lines] == [2000, None]
    assert [(m["kind"], m["qty_delta_milli"], m["qty_after_milli"], m["reference"])
            for m in d.movements] == [("count_fix", 1000, 3000, d.lines[0]["id"])]
    assert d.movements[0]["created_at"] == counted and d.levels == {(STORE, milk): 3000}
    assert [(kind, entity) for kind, entity, _ in d.feed] == [
        ("stock_movement", d.lines[0]["id"]), ("stock_movement", d.movements[0]["id"]),
        ("order", env.order_id)]


def test_what_was_read_decides_duplicates_and_refusals() -> None:
    env = _env()
    payload = _payload(env.order_id, [(None, 250, 2000)])
    pay_id = payload["payments"][0]["id"]
    again = decide(payload, env, Read(orders={env.order_id}))
    assert isinstance(again, Refused) and "already exists" in again.reason
    line_used = decide(payload, env, Read(lines={payload["lines"][0]["id"]}))
    assert isinstance(line_used, Refused) and "is already used by another order" in \
        line_used.reason
    # a new sale's payment id held by another order: refused, never dropped (helper O:
    # the sale was kept with paid 0 though the till took the money)
    paid_before = decide(payload, env, Read(payments={pay_id},
                                            references={(ORG, payload["reference"])}))
    assert paid_before == Refused(f"payment id {pay_id} is already used by another order; "
                                  "each payment needs its own id")
    flagged = decide(payload, env, Read(references={(ORG, payload["reference"])}))
    assert isinstance(flagged, Applied) and "duplicate_reference" in flagged.flags
    by_stock = decide(payload, _env("stock"), Read())
    assert by_stock == Refused("Ann is a stock, and a stock may not do sale.create")
    payload["payments"][0]["amount"] = 0
    assert decide(payload, env, Read()) == Refused("A payment must be more than zero")
