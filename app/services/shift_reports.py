"""X and Z reports of a till's shift, and the close that makes the Z.

- :func:`x_report` reads the open (or any) shift's figures now and changes nothing;
  :func:`check_count` says expected, counted and over/short of a count before closing.
- :func:`close_shift` counts the drawer (a total, or note by note and coin by coin),
  compares it with the cash expected, checks the card batch total if typed in, and
  closes the shift with the next Z number of this till, in ONE transaction with the
  audit entry and the ``shift.close`` operation: a crash leaves the shift either open
  with no Z number used, or closed with its Z number; never in between.
- :func:`z_reports` lists past closes, :func:`z_report` finds one to reprint
  (printing/shift_report.py renders it for the printer and as a PDF).
- :func:`waiting_operations` is what sign-out, switching user and the close say about
  data not yet synced (how many operations, how old the oldest).

The figures are app/domain/shift_report.py's ``compute`` over the shift's rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain import order_balance, shift_report, shift_rules, till_limits
from app.domain.limits import MAX_REASON
from app.domain.operations import Entity, OpType
from app.domain.payloads import ShiftClose
from app.domain.permissions import Action, require
from app.domain.shift_report import ShiftReport, ZReport
from app.domain.text_rules import too_long
from app.store.base import utcnow
from app.store.local import LocalStore
from app.store.models import (
    Installment,
    Order,
    OrderLine,
    OutboxOperation,
    Payment,
    StoreSettings,
)
from app.store.models_shifts import CashMovement, Shift
from app.store.unit_of_work import Actor, mutation


class CloseError(ValueError):
    """The shift cannot be closed as asked; the message is for the person at the till."""


@dataclass(frozen=True)
class WaitingOperations:
    """Operations this till recorded that the server has not taken yet."""

    count: int
    oldest_at: datetime | None


def _aware(at: datetime | None) -> datetime | None:
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)


def _naive(at: datetime) -> datetime:
    """The till keeps times as UTC without zone in SQLite; compare like with like."""
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _returned(s: Session, order_ids: list[str]) -> dict[str, int]:
    """{order id: what its goods brought back are worth} (app/domain/order_balance.py)."""
    worth: dict[str, int] = {}
    if not order_ids:
        return worth
    for order_id, total, qty, back in s.execute(select(
            OrderLine.order_id, OrderLine.total, OrderLine.qty_milli, OrderLine.refunded_qty_milli
    ).where(OrderLine.order_id.in_(order_ids), OrderLine.refunded_qty_milli > 0)):
        worth[order_id] = worth.get(order_id, 0) + order_balance.line_returned(total, qty, back)
    return worth


def shift_rows(s: Session, shift: Shift, until: datetime) -> dict[str, list]:
    """The rows of ``shift`` up to ``until``, as app/domain/shift_report.py's plain rows."""
    start, end = _naive(shift.opened_at), _naive(until)
    orders = s.execute(select(Order.id, Order.status, Order.total, Order.discount, Order.paid,
                              Order.refunded).where(
        Order.device_id == shift.device_id, Order.created_at >= start,
        Order.created_at <= end)).all()
    ids = [o.id for o in orders]
    offline = _offline(s, ids, end)
    plans = dict(s.execute(select(Installment.order_id, func.count()).where(
        Installment.order_id.in_(ids)).group_by(Installment.order_id)).all()) if ids else {}
    lines = s.execute(select(OrderLine.order_id, OrderLine.tax_rate_ppm, OrderLine.tax).where(
        OrderLine.order_id.in_(ids))).all() if ids else []
    payments = s.execute(select(Payment.order_id, Payment.method, Payment.amount,
                                Payment.installment_id).where(
        Payment.device_id == shift.device_id, Payment.created_at >= start,
        Payment.created_at <= end)).all()
    movements = s.execute(select(CashMovement.kind, CashMovement.amount).where(
        CashMovement.shift_id == shift.id)).all()
    returned = _returned(s, list(plans))
    return {
        "orders": [shift_report.OrderRow(o.id, o.status, o.total, o.discount, o.paid, o.refunded,
                                         o.id in offline, int(plans.get(o.id, 0)),
                                         returned.get(o.id, 0))
                   for o in orders],
        "lines": [shift_report.LineRow(*li) for li in lines],
        "payments": [shift_report.PaymentRow(*p) for p in payments],
        "movements": [shift_report.MovementRow(*mv) for mv in movements],
    }


def _offline(s: Session, order_ids: list[str], as_of: datetime) -> set[str]:
    """The orders whose sale waited to reach the server as if offline (shift_report's
    ``recorded_offline``: its ``order.create`` answered late, or unanswered too long)."""
    if not order_ids:
        return set()
    rows = s.execute(select(OutboxOperation.entity_id, OutboxOperation.status,
                            OutboxOperation.created_at, OutboxOperation.updated_at).where(
        OutboxOperation.type == OpType.ORDER_CREATE.value,
        OutboxOperation.entity_id.in_(order_ids))).all()
    return {r.entity_id for r in rows if shift_report.recorded_offline(
        _naive(r.created_at), None if r.status == "pending" else _naive(r.updated_at), as_of)}


def figures(s: Session, shift: Shift, as_of: datetime) -> ShiftReport:
    """The X figures of ``shift`` as of ``as_of`` (its close, when closed)."""
    until = shift.closed_at if shift.closed_at is not None else as_of
    return shift_report.compute(
        shift_id=shift.id, device_id=shift.device_id, opened_at=_aware(shift.opened_at) or as_of,
        opened_by=shift.opened_by, opening_float=shift.opening_float,
        as_of=_aware(until) or as_of, **shift_rows(s, shift, until))


def _open_of(s: Session, device_id: str) -> Shift | None:
    return s.scalar(select(Shift).where(Shift.device_id == device_id, Shift.status == "open"))


def x_report(store: LocalStore, shift_id: str | None = None) -> ShiftReport:
    """The X report of a shift now (this till's open shift when no id is given): reads
    only. CloseError when there is no such shift."""
    with store.db.read() as s:
        shift = s.get(Shift, shift_id) if shift_id else _open_of(s, store.device_id)
        if shift is None:
            raise CloseError("There is no open shift on this till" if shift_id is None
                             else "Shift not found")
        return figures(s, shift, utcnow())


def variance_threshold(store: LocalStore) -> int:
    """The over/short (either way) a close may have without a manager's approval: the
    store's till limits' ``over_short_threshold`` (app/domain/till_limits.py)."""
    with store.db.read() as s:
        raw = s.scalar(select(StoreSettings.till_limits).limit(1))
    return till_limits.from_dict(raw if isinstance(raw, dict) else None).over_short_threshold


def _waiting(s: Session) -> WaitingOperations:
    count, oldest = s.execute(select(func.count(), func.min(OutboxOperation.created_at)).where(
        OutboxOperation.status == "pending")).one()
    return WaitingOperations(int(count or 0), _aware(oldest))


def waiting_operations(store: LocalStore) -> WaitingOperations:
    """How many operations wait to sync and since when (for sign-out, switch user, close)."""
    with store.db.read() as s:
        return _waiting(s)


def _counted(counted_cash: int | None, by_denomination: Mapping[int, int] | None) -> int:
    if by_denomination is None:
        if counted_cash is None:
            raise CloseError("Count the cash in the drawer: a total, or note by note")
        return counted_cash
    total, problem = shift_rules.by_denomination(by_denomination)
    if problem or total is None:
        raise CloseError(problem or "The count does not add up")
    if counted_cash is not None and counted_cash != total:
        raise CloseError("The counted cash is not the sum of the notes and coins counted")
    return total


def _clean(reason: str | None) -> str | None:
    reason = reason.strip() if reason and reason.strip() else None
    problem = too_long("The reason", reason, MAX_REASON)
    if problem:
        raise CloseError(problem)
    return reason


@dataclass(frozen=True)
class CountCheck:
    """What the close screen shows while the drawer is counted (nothing is written)."""

    expected_cash: int
    counted_cash: int
    over_short: int  # counted - expected
    threshold: int
    needs_approval: bool  # beyond the threshold: a reason and a manager's PIN
    card_takings: int  # to compare with the card terminal's batch total


def check_count(store: LocalStore, counted_cash: int | None = None,
                counted_by_denomination: Mapping[int, int] | None = None) -> CountCheck:
    """Expected, counted and over/short of this till's open shift for a count (a total or
    by note and coin), before closing; CloseError when the count does not add up or no
    shift is open."""
    counted = _counted(counted_cash, counted_by_denomination)
    x = x_report(store)
    threshold = variance_threshold(store)
    over_short = counted - x.expected_cash
    return CountCheck(x.expected_cash, counted, over_short, threshold,
                      shift_rules.needs_approval(over_short, threshold),
                      x.takings_by_tender.get(shift_report.CARD, 0))


def _next_z(s: Session, device_id: str) -> int:
    """This till's next Z number: one more than its last (read under the write lock)."""
    last = s.scalar(select(func.max(Shift.z_number)).where(Shift.device_id == device_id))
    return int(last or 0) + 1


def close_shift(store: LocalStore, actor: Actor, *, counted_cash: int | None = None,
                counted_by_denomination: Mapping[int, int] | None = None,
                card_batch_total: int | None = None, over_short_reason: str | None = None,
                approver: Actor | None = None) -> ZReport:
    """Close this till's open shift with the drawer counted and make its Z report.

    ``counted_cash`` is the total counted, or give ``counted_by_denomination``
    ({denomination_minor: pieces}, app/domain/denominations.py lists the store
    currency's notes and coins); both given must agree. An over/short beyond the
    store's threshold (:func:`variance_threshold`) needs ``over_short_reason`` and an
    ``approver`` (a manager who typed their PIN: an Actor with ``approval_key``), who
    then signs the close. ``card_batch_total`` is compared with the card takings.
    Raises CloseError (words for the person) or PermissionDenied.
    """
    require(actor.role, Action.SHIFT_CLOSE)
    if approver is not None:
        require(approver.role, Action.SHIFT_VARIANCE_APPROVE)
    counted = _counted(counted_cash, counted_by_denomination)
    problem = shift_rules.card_refusal(card_batch_total) or shift_rules.close_refusal(True, counted)
    if problem:
        raise CloseError(problem)
    reason = _clean(over_short_reason)
    threshold = variance_threshold(store)
    with mutation(store.db, store.device_id, approver or actor, OpType.SHIFT_CLOSE) as m:
        shift = _open_of(m.session, m.device.id)
        if shift is None:
            raise CloseError("There is no open shift on this till to close")
        waiting = _waiting(m.session)
        report = figures(m.session, shift, m.at)
        over_short = counted - report.expected_cash
        problem = shift_rules.variance_refusal(over_short, threshold, reason, approver is not None)
        if problem:
            raise CloseError(problem)
        approved_by = approver.staff_id if approver is not None and shift_rules.needs_approval(
            over_short, threshold) else None
        if approved_by is None:
            m.actor = actor  # no approval needed: the close is the counter's own
        z = _z_report(shift, report, m.at, actor.staff_id, counted, counted_by_denomination,
                      over_short, reason, approved_by, card_batch_total, waiting, _next_z(m.session, m.device.id))
        _write_close(shift, z, m.at)
        m.session.flush()
        m.audit(Entity.SHIFT, shift.id, {
            "status": {"before": "open", "after": "closed"},
            "z_number": {"before": None, "after": z.z_number},
            "over_short": {"before": None, "after": over_short}}, reason=reason)
        m.emit(OpType.SHIFT_CLOSE, shift.id, ShiftClose(
            shift_id=shift.id, closed_at=m.at, counted_cash=counted,
            expected_cash=report.expected_cash, over_short=over_short, reason=reason,
            z_number=z.z_number, counted_by_denomination=z.counted_by_denomination,
            card_batch_total=card_batch_total, closed_by=actor.staff_id,
            approved_by=approved_by, report=z.as_dict()))
        return z


def _z_report(shift: Shift, report: ShiftReport, at: datetime, closed_by: str, counted: int,
              by_denomination: Mapping[int, int] | None, over_short: int, reason: str | None,
              approved_by: str | None, card_batch_total: int | None,
              waiting: WaitingOperations, z_number: int) -> ZReport:
    card = report.takings_by_tender.get(shift_report.CARD, 0)
    return ZReport(
        z_number=z_number, figures=report, closed_at=at, closed_by=closed_by,
        counted_cash=counted,
        counted_by_denomination=None if by_denomination is None else dict(by_denomination),
        over_short=over_short, over_short_reason=reason, approved_by=approved_by,
        card_batch_total=card_batch_total,
        card_difference=None if card_batch_total is None else card_batch_total - card,
        pending_operations=waiting.count, oldest_pending_at=waiting.oldest_at)


def _write_close(shift: Shift, z: ZReport, at: datetime) -> None:
    shift.status, shift.closed_by, shift.closed_at = "closed", z.closed_by, at
    shift.counted_cash, shift.expected_cash = z.counted_cash, z.figures.expected_cash
    shift.over_short, shift.close_reason = z.over_short, z.over_short_reason
    shift.z_number, shift.card_batch_total, shift.approved_by = (
        z.z_number, z.card_batch_total, z.approved_by)
    shift.counted_by_denomination = (None if z.counted_by_denomination is None else
                                     {str(d): n for d, n in z.counted_by_denomination.items()})
    shift.report = z.as_dict()


@dataclass(frozen=True)
class ZSummary:
    """A past close, as a list of Z reports shows it."""

    shift_id: str
    z_number: int
    opened_at: datetime
    closed_at: datetime
    sales_total: int
    over_short: int


def z_reports(store: LocalStore, limit: int = 100) -> list[ZSummary]:
    """This till's past Z reports, newest first."""
    with store.db.read() as s:
        rows = s.scalars(select(Shift).where(Shift.device_id == store.device_id,
                                             Shift.z_number.is_not(None))
                         .order_by(Shift.z_number.desc()).limit(limit)).all()
        return [ZSummary(r.id, int(r.z_number or 0), _aware(r.opened_at) or r.opened_at,
                         _aware(r.closed_at) or r.opened_at,
                         int((r.report or {}).get("figures", {}).get("sales_total", 0)),
                         int(r.over_short or 0)) for r in rows]


def z_report(store: LocalStore, z_number: int | None = None,
             shift_id: str | None = None) -> ZReport:
    """A past Z report of this till, by Z number or shift id, as it was at its close
    (to reprint it). CloseError when there is none."""
    with store.db.read() as s:
        query = select(Shift).where(Shift.z_number.is_not(None))
        if shift_id is not None:
            query = query.where(Shift.id == shift_id)
        else:
            query = query.where(Shift.device_id == store.device_id, Shift.z_number == z_number)
        shift = s.scalar(query)
        if shift is None or not shift.report:
            raise CloseError("No such Z report on this till")
        return from_dict(shift.report)


def from_dict(data: Mapping) -> ZReport:
    """A ZReport from its ``as_dict`` form (kept on the shift, sent in ``shift.close``)."""
    return shift_report.z_from_dict(data)
