"""How the order detail writes audit values and dates for people (no Qt here)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from app.domain.operations import OpType
from app.domain.permissions import Action
from app.services.sales import SALE_RECORDED

MONEY_FIELDS = {"total", "paid", "refunded", "subtotal", "tax", "discount", "amount", "balance"}
#: audit actions (an operation type, a permission action, or a sale) in words
ACTION_NAMES: dict[str, str] = {
    SALE_RECORDED: "Sale", OpType.PAYMENT_RECORD: "Payment", Action.ORDER_EDIT: "Edit",
    OpType.APPROVAL_DECIDE: "Approval", Action.ORDER_DELETE_REQUEST: "Deletion asked",
    Action.REFUND_REQUEST: "Refund asked", OpType.CONFLICT_RESOLVE: "Conflict resolved",
}


def local(at: datetime) -> datetime:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone()


def when(at: datetime) -> str:
    return local(at).strftime("%d/%m/%Y %H:%M")


def day(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def qty(milli: int) -> str:
    return f"{milli / 1000:g}"


def value_text(field: str, value: Any, money) -> str:  # noqa: ANN001 - ctx.money
    """One audit value, short: money as money, lines as “name ×qty”, customers by name."""
    if value is None:
        return "—"
    if field in MONEY_FIELDS and isinstance(value, int):
        return money(value)
    if isinstance(value, list):
        if all(isinstance(v, dict) and "name" in v for v in value):
            return "; ".join(f"{v['name']} ×{qty(v.get('qty_milli', 1000))}" for v in value)
        if all(isinstance(v, dict) and "due" in v for v in value):
            return ", ".join(f"{v['due']} {money(v['amount'])}" for v in value)
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        if "method" in value and "amount" in value:
            return f"{str(value['method']).title()} {money(value['amount'])}"
        if "sealed" in value:
            return "(sealed)"
        parts = [str(value[k]) for k in ("name", "phone", "email") if value.get(k)]
        return ", ".join(parts) if parts else "—"
    return str(value)


def audit_rows(entry, money) -> list[tuple[str, str, str]]:  # noqa: ANN001
    """(field, before, after) rows of one audit entry; an entry without fields gets one row."""
    rows = []
    for field, change in (entry.changes or {}).items():
        if isinstance(change, dict) and ("before" in change or "after" in change):
            rows.append((field, value_text(field, change.get("before"), money),
                         value_text(field, change.get("after"), money)))
        else:
            rows.append((field, "", value_text(field, change, money)))
    return rows or [("", "", "")]


def action_name(action: str) -> str:
    return ACTION_NAMES.get(action, action)


#: an order's flags (app/services/sales.py writes "kind:detail") in words
FLAG_WORDS: dict[str, str] = {"negative_stock": "sold with no stock on record"}


def flag_text(flag: str) -> str:
    """"negative_stock:SKU000001" → "SKU000001 sold with no stock on record"."""
    kind, _, detail = flag.partition(":")
    words = FLAG_WORDS.get(kind)
    if words is None:
        return flag.replace("_", " ")
    return f"{detail} {words}" if detail else words[0].upper() + words[1:]
