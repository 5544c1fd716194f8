"""The X and Z report of a till's shift, computed from plain rows (pure: no store).

An X report is read at any time and changes nothing; a Z report is the same figures
frozen at the close, with the count and its Z number. Both are :func:`compute` over the
rows the shift recorded, so any figure can be recomputed later from the same rows.

What belongs to a shift: this till's orders created while it was open, this till's
payments (a refund is a negative payment) and its cash movements. The definitions,
written once:

- sales are the shift's orders that are not deleted; ``sales_total`` their totals
  (what customers were charged, tax included in either tax mode);
- ``gross_sales`` = sales_total + discounts (before any discount);
  ``net_sales`` = gross_sales - discounts - refunds;
- ``refunds``: the money paid back at this till (negative payments), per tender too;
- ``tax_by_rate``: the sum of the sales' line taxes per rate (ppm);
- ``takings_by_tender``: money in less money back, per tender (cash, card, other);
- ``installments_collected``: payments towards a plan's installment;
- plans started: sales with installments; ``plans_outstanding`` what they still owe;
- ``average_sale`` = sales_total / number of sales, rounded half away from zero;
- ``offline_share_ppm``: the share of sales recorded while the till was offline: whose
  sale reached the server more than :data:`OFFLINE_AFTER` after it was recorded, or
  still waited that long at the report's time (:func:`recorded_offline`; every till
  sale is recorded locally first, so the wait is what tells);
- ``expected_cash`` = float + cash taken - cash refunded + paid in - paid out - drops.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.domain import order_balance
from app.domain.money import div_round

PPM = 1_000_000
CASH = "cash"
CARD = "card"


#: a sale that waited longer than this to reach the server was recorded offline
OFFLINE_AFTER = timedelta(seconds=60)


def recorded_offline(recorded_at: datetime, answered_at: datetime | None,
                     as_of: datetime) -> bool:
    """Whether a sale recorded at ``recorded_at`` counts as recorded offline: the server
    answered its operation (``answered_at``) more than :data:`OFFLINE_AFTER` later, or it
    still had no answer that long after, at ``as_of``."""
    return (answered_at or as_of) - recorded_at > OFFLINE_AFTER


class MovementKind:
    """The kinds of cash movement in a drawer (``cash.move`` payload ``kind``)."""

    PAY_IN = "pay_in"
    PAY_OUT = "pay_out"
    DROP = "drop"
    NO_SALE = "no_sale"  # the drawer opened without a sale: amount 0, audited
    ALL = (PAY_IN, PAY_OUT, DROP, NO_SALE)


@dataclass(frozen=True)
class OrderRow:
    """An order this till recorded during the shift (``paid``/``refunded`` as now)."""

    id: str
    status: str
    total: int
    discount: int
    paid: int
    refunded: int
    is_offline: bool
    installments: int = 0  # how many installments its plan has (0: no plan)
    returned: int = 0  # what its goods brought back are worth (app/domain/order_balance.py)


@dataclass(frozen=True)
class LineRow:
    order_id: str
    tax_rate_ppm: int
    tax: int


@dataclass(frozen=True)
class PaymentRow:
    """A payment taken at this till during the shift (negative: a refund paid back)."""

    order_id: str
    method: str
    amount: int
    installment_id: str | None = None


@dataclass(frozen=True)
class MovementRow:
    kind: str
    amount: int


@dataclass(frozen=True)
class ShiftReport:
    """Every figure of an X or Z report, amounts in minor units."""

    shift_id: str
    device_id: str
    opened_at: datetime
    opened_by: str
    opening_float: int
    as_of: datetime  # when the figures were taken (the close, for a Z)
    sales_count: int = 0
    sales_total: int = 0
    gross_sales: int = 0
    discounts: int = 0
    refunds: int = 0
    refunds_count: int = 0
    net_sales: int = 0
    deleted_count: int = 0
    deleted_total: int = 0
    tax_by_rate: dict[int, int] = field(default_factory=dict)
    takings_by_tender: dict[str, int] = field(default_factory=dict)
    refunds_by_tender: dict[str, int] = field(default_factory=dict)
    installments_collected: int = 0
    installments_count: int = 0
    plans_started: int = 0
    plans_outstanding: int = 0
    average_sale: int = 0
    offline_count: int = 0
    offline_share_ppm: int = 0
    cash_taken: int = 0
    cash_refunded: int = 0
    paid_in: int = 0
    paid_out: int = 0
    drops: int = 0
    no_sales: int = 0
    expected_cash: int = 0

    def as_dict(self) -> dict[str, object]:
        """The figures as JSON-ready values (rates and tenders as text keys)."""
        out: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, dict):
                value = {str(k): v for k, v in sorted(value.items())}
            out[name] = value
        return out


@dataclass(frozen=True)
class ZReport:
    """A closed shift's report: the figures at the close, the count and its Z number."""

    z_number: int
    figures: ShiftReport
    closed_at: datetime
    closed_by: str
    counted_cash: int
    counted_by_denomination: dict[int, int] | None
    over_short: int
    over_short_reason: str | None
    approved_by: str | None
    card_batch_total: int | None
    card_difference: int | None  # batch total - card takings (None: not typed in)
    pending_operations: int  # operations waiting to sync at the close
    oldest_pending_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        """The Z report as JSON-ready values (the figures under ``figures``)."""
        out: dict[str, object] = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["figures"] = self.figures.as_dict()
        for key in ("closed_at", "oldest_pending_at"):
            at = out[key]
            out[key] = at.isoformat() if isinstance(at, datetime) else None
        counted = self.counted_by_denomination
        out["counted_by_denomination"] = (None if counted is None
                                          else {str(d): n for d, n in sorted(counted.items())})
        return out


def _add(into: dict, key: object, amount: int) -> None:
    into[key] = into.get(key, 0) + amount


def _movements(movements: Iterable[MovementRow]) -> dict[str, int]:
    sums = dict.fromkeys(MovementKind.ALL, 0)
    no_sales = 0
    for mv in movements:
        sums[mv.kind] = sums.get(mv.kind, 0) + mv.amount
        no_sales += mv.kind == MovementKind.NO_SALE
    sums["count_no_sale"] = no_sales
    return sums


@dataclass
class _PaymentSums:
    takings: dict[str, int] = field(default_factory=dict)
    refunds_by: dict[str, int] = field(default_factory=dict)
    refunds: int = 0
    refunds_count: int = 0
    installments: int = 0
    installments_count: int = 0


def _payments(payments: Iterable[PaymentRow]) -> _PaymentSums:
    sums = _PaymentSums()
    for pay in payments:
        _add(sums.takings, pay.method, pay.amount)
        if pay.amount < 0:
            _add(sums.refunds_by, pay.method, -pay.amount)
            sums.refunds -= pay.amount
            sums.refunds_count += 1
        elif pay.installment_id is not None:
            sums.installments += pay.amount
            sums.installments_count += 1
    return sums


def compute(*, shift_id: str, device_id: str, opened_at: datetime, opened_by: str,
            opening_float: int, as_of: datetime, orders: Iterable[OrderRow],
            lines: Iterable[LineRow], payments: Iterable[PaymentRow],
            movements: Iterable[MovementRow]) -> ShiftReport:
    """The report of a shift from its rows, by the definitions in the module doc."""
    orders = list(orders)
    sales = [o for o in orders if o.status != "deleted"]
    deleted = [o for o in orders if o.status == "deleted"]
    sold_ids = {o.id for o in sales}
    tax_by_rate: dict[int, int] = {}
    for line in lines:
        if line.order_id in sold_ids:
            _add(tax_by_rate, line.tax_rate_ppm, line.tax)
    pays = _payments(payments)
    moves = _movements(movements)
    takings, refunds_by, refunds = pays.takings, pays.refunds_by, pays.refunds
    sales_total = sum(o.total for o in sales)
    discounts = sum(o.discount for o in sales)
    plans = [o for o in sales if o.installments > 0]
    offline = sum(1 for o in sales if o.is_offline)
    cash_refunded = refunds_by.get(CASH, 0)
    cash_taken = takings.get(CASH, 0) + cash_refunded
    expected = (opening_float + cash_taken - cash_refunded + moves[MovementKind.PAY_IN]
                - moves[MovementKind.PAY_OUT] - moves[MovementKind.DROP])
    return ShiftReport(
        shift_id=shift_id, device_id=device_id, opened_at=opened_at, opened_by=opened_by,
        opening_float=opening_float, as_of=as_of,
        sales_count=len(sales), sales_total=sales_total, gross_sales=sales_total + discounts,
        discounts=discounts, refunds=refunds, refunds_count=pays.refunds_count,
        net_sales=sales_total - refunds,
        deleted_count=len(deleted), deleted_total=sum(o.total for o in deleted),
        tax_by_rate=tax_by_rate, takings_by_tender=takings, refunds_by_tender=refunds_by,
        installments_collected=pays.installments, installments_count=pays.installments_count,
        plans_started=len(plans),
        plans_outstanding=sum(order_balance.balance_due(o.total, o.paid, o.refunded, o.returned)
                              for o in plans),
        average_sale=div_round(sales_total, len(sales)) if sales else 0,
        offline_count=offline, offline_share_ppm=div_round(offline * PPM, len(sales)) if sales else 0,
        cash_taken=cash_taken, cash_refunded=cash_refunded,
        paid_in=moves[MovementKind.PAY_IN], paid_out=moves[MovementKind.PAY_OUT],
        drops=moves[MovementKind.DROP], no_sales=moves["count_no_sale"], expected_cash=expected)


def _when(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def report_from_dict(data: Mapping[str, Any]) -> ShiftReport:
    """A ShiftReport from its ``as_dict`` form (unknown keys are ignored)."""
    known = ShiftReport.__dataclass_fields__
    values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
    for key in ("opened_at", "as_of"):
        values[key] = _when(values.get(key))
    values["tax_by_rate"] = {int(k): int(v) for k, v in (data.get("tax_by_rate") or {}).items()}
    for key in ("takings_by_tender", "refunds_by_tender"):
        values[key] = {str(k): int(v) for k, v in (data.get(key) or {}).items()}
    return ShiftReport(**values)


def z_from_dict(data: Mapping[str, Any]) -> ZReport:
    """A ZReport from its ``as_dict`` form (kept on the shift, sent in ``shift.close``)."""
    counted = data.get("counted_by_denomination")
    return ZReport(
        z_number=int(data["z_number"]), figures=report_from_dict(data["figures"]),
        closed_at=_when(data.get("closed_at")) or datetime.min,
        closed_by=str(data.get("closed_by") or ""), counted_cash=int(data["counted_cash"]),
        counted_by_denomination=None if counted is None else {int(d): int(n) for d, n in counted.items()},
        over_short=int(data["over_short"]), over_short_reason=data.get("over_short_reason"),
        approved_by=data.get("approved_by"), card_batch_total=data.get("card_batch_total"),
        card_difference=data.get("card_difference"),
        pending_operations=int(data.get("pending_operations") or 0),
        oldest_pending_at=_when(data.get("oldest_pending_at")))


#: figures of a report that add up across shifts (the rest are derived or per shift)
ADDITIVE = ("opening_float", "sales_count", "sales_total", "gross_sales", "discounts", "refunds",
            "refunds_count", "net_sales", "deleted_count", "deleted_total",
            "installments_collected", "installments_count", "plans_started",
            "plans_outstanding", "offline_count", "cash_taken", "cash_refunded", "paid_in",
            "paid_out", "drops", "no_sales", "expected_cash")
_BY_KEY = ("tax_by_rate", "takings_by_tender", "refunds_by_tender")


def day_totals(figures: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The sum of several shifts' figures (each a ShiftReport.as_dict): the store's day
    across its tills. Counts and amounts add; per-rate and per-tender sums add by key;
    the average sale and the offline share are worked out again from the sums."""
    out: dict[str, Any] = dict.fromkeys(ADDITIVE, 0)
    for key in _BY_KEY:
        out[key] = {}
    for fig in figures:
        for key in ADDITIVE:
            out[key] += int(fig.get(key) or 0)
        for key in _BY_KEY:
            for k, v in (fig.get(key) or {}).items():
                out[key][str(k)] = out[key].get(str(k), 0) + int(v)
    sales = out["sales_count"]
    out["average_sale"] = div_round(out["sales_total"], sales) if sales else 0
    out["offline_share_ppm"] = div_round(out["offline_count"] * PPM, sales) if sales else 0
    for key in _BY_KEY:
        out[key] = dict(sorted(out[key].items()))
    return out
