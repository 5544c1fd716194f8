"""Conflicts on this terminal: the local ``conflicts`` table and a manager's resolution.

Where a record comes from:

- a push answered ``conflict`` for one of our operations (``record_pushed``): we know
  our side (the op's payload) and the server's conflict id, not yet the server side;
- a pulled ``conflict`` entity (``record_pulled``, via sync/apply.py): the server's
  record with both sides, ``{field: {base, server, terminal}}``. Every terminal of the
  store gets it, so any manager can resolve it, and its ``resolved`` state comes back
  the same way and closes the record everywhere.

Row layout (app/store/models_aftersale.py ``Conflict``): ``id`` is the server's conflict
id; ``field`` names the field(s) in conflict; ``local_value`` is the *terminal's* side
(the values the terminal that pushed the op wanted) and ``server_value`` the server's,
both as ``{field: value}``; ``reason`` is the server's kind (``field_conflict``,
``edit_of_deleted``, ``edit_of_completed``, ``delete_of_completed``,
``approval_already_decided``) once known, or the push answer's reason before that;
``status`` is ``open`` or ``resolved``.

Why a resolution made here is only recorded locally (status ``resolved``, resolution
``synced: false``) and not applied to the product or order at once: the server applies
the chosen values as a normal change and that change comes back through the feed; an
optimistic local write without its own operation could be undone by an older pulled
version. While the ``conflict.resolve`` operation is pending, pulled states of that
conflict are held back (sync/apply.py); if the server rejects it, the record is
opened again (sync/push.py) and its description says why. One case only the server can
tell: a product deleted in the back office since the conflict (the till keeps a deleted
product as merely inactive), where ``terminal`` and ``custom`` are refused and ``server``
closes the conflict, the product staying deleted.

Customer details are personal data: in a conflict about ``customer`` both sides are
kept sealed with the terminal's data cipher, like everywhere else.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.operations import Conflicts, Entity, OpType, spec_of
from app.domain.payloads import ConflictResolve
from app.domain.permissions import Action, require
from app.domain.product_rules import ProductFieldError, check_fields
from app.services.catalog_edit import (
    CatalogError,
    check_barcodes_free,
    check_sku_free,
    product_state,
)
from app.services.sales import line_payload
from app.store.crypto import PersonalDataCipher
from app.store.local import LocalStore
from app.store.models import Order, Product, SyncState
from app.store.models_aftersale import Conflict
from app.store.unit_of_work import Actor, mutation

CHOICES = ("server", "terminal", "custom")
PERSONAL_FIELDS = ("customer",)
SEAL_FIELD = "conflict.value"
KIND_TEXT = {
    "field_conflict": "changed differently on two terminals",
    "edit_of_deleted": "edited here, but deleted elsewhere",
    "edit_of_completed": "edited here, but completed elsewhere",
    "delete_of_completed": "deleted here, but paid elsewhere; correct it with a refund",
    "approval_already_decided": "decided here, but already decided elsewhere",
}
# Only a field conflict can be settled with the terminal's or a custom value.
SERVER_ONLY_KINDS = set(KIND_TEXT) - {"field_conflict"}
LEGACY_PREFIX = "conflict:"
LEGACY_COUNT = "open_conflicts"


class ConflictError(ValueError):
    """A resolution that cannot be made; the message is for the person."""


# ---------------------------------------------------------------- values


def _seal(cipher: PersonalDataCipher | None, name: str, value: Any) -> Any:
    if name not in PERSONAL_FIELDS or value is None or cipher is None:
        return value
    blob = cipher.encrypt(json.dumps(value, default=str), field=SEAL_FIELD)
    return {"sealed": base64.b64encode(blob or b"").decode()}


def _unseal(cipher: PersonalDataCipher | None, value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"sealed"} and cipher is not None:
        text = cipher.decrypt(base64.b64decode(value["sealed"]), field=SEAL_FIELD)
        return json.loads(text) if text else None
    return value


def _field_names(names: list[str]) -> str | None:
    joined = ", ".join(sorted(names))
    return joined[:60] if joined else None


def entity_of(op_type: str, entity_id: str, payload: dict[str, Any] | None) -> tuple[str, str]:
    """(entity_type, entity_id) an operation is about, as the server names its conflicts:
    the entity whose version the op changes (a refund's or payment's order); for a type
    this code does not know (an old record), the word before its dot."""
    spec = spec_of(op_type)
    if spec is None:
        return op_type.split(".", 1)[0], entity_id
    entity, eid = spec.versioned_entity(entity_id, payload)
    return entity.value, eid


def _deleted(p: dict[str, Any]) -> dict[str, Any]:
    return {"status": "deleted", "reason": p.get("reason")}


def _decided(p: dict[str, Any]) -> dict[str, Any]:
    return {"status": "approved" if p.get("approved") else "rejected"}


#: What a decision on a whole entity wanted (a refund has no side to show: only the
#: server's state can be kept).
STATE_SIDES: dict[OpType, Callable[[dict[str, Any]], dict[str, Any]]] = {
    OpType.ORDER_DELETE: _deleted, OpType.APPROVAL_DECIDE: _decided}


def terminal_side(op_type: str, payload: dict[str, Any] | None) -> dict[str, Any]:
    """What the operation wanted, per field (our side of a conflict): the values of a
    per-field edit, or the state a decision wanted."""
    p = payload or {}
    spec = spec_of(op_type)
    kind = spec.conflicts if spec is not None else Conflicts.FIELDS
    if kind is Conflicts.FIELDS and isinstance(p.get("fields"), dict):
        return {name: (edit or {}).get("value") for name, edit in p["fields"].items()}
    if kind is Conflicts.STATE and spec is not None and spec.type in STATE_SIDES:
        return STATE_SIDES[spec.type](p)
    return {}


# ---------------------------------------------------------------- recording


def refresh_count(s: Session) -> int:
    """Open conflicts (what the status bar shows)."""
    s.flush()
    return int(s.scalar(select(func.count()).select_from(Conflict)
                        .where(Conflict.status == "open")) or 0)


def record_pushed(s: Session, cipher: PersonalDataCipher | None, *, conflict_id: str | None,
                  op_id: str, op_type: str, entity_id: str, payload: dict[str, Any] | None,
                  reason: str | None, at: datetime) -> Conflict:
    """A push answered ``conflict`` for our operation: keep our side until the server's arrives."""
    row = s.get(Conflict, conflict_id or op_id)
    if row is not None:  # the pulled record arrived first (or a resend): it is complete
        return row
    etype, eid = entity_of(op_type, entity_id, payload)
    mine = terminal_side(op_type, payload)
    row = Conflict(
        id=conflict_id or op_id, entity_type=etype, entity_id=eid, op_id=op_id,
        field=_field_names(list(mine)),
        local_value={k: _seal(cipher, k, v) for k, v in mine.items()},
        server_value=None, reason=reason or "conflict", status="open", created_at=at,
    )
    s.add(row)
    return row


def record_pulled(s: Session, cipher: PersonalDataCipher | None, conflict_id: str,
                  data: dict[str, Any]) -> bool:
    """Apply the server's record of a conflict; a resolved record is never opened again."""
    row = s.get(Conflict, conflict_id)
    status = data.get("status") or "open"
    if row is not None and row.status == "resolved" and status != "resolved":
        return False
    fields = data.get("fields") or {}
    if row is None:
        row = Conflict(id=conflict_id, created_at=_dt(data.get("created_at")) or datetime.now(UTC))
        s.add(row)
    row.entity_type = data.get("entity_type") or row.entity_type or "unknown"
    row.entity_id = data.get("entity_id") or row.entity_id or ""
    row.op_id = data.get("op_id") or row.op_id
    if fields:
        row.field = _field_names(list(fields))
        row.local_value = {k: _seal(cipher, k, (v or {}).get("terminal")) for k, v in fields.items()}
        row.server_value = {k: _seal(cipher, k, (v or {}).get("server")) for k, v in fields.items()}
    row.reason = data.get("kind") or row.reason or "conflict"
    row.status = status
    if status == "resolved":
        resolution = dict(data.get("resolution") or {})
        if isinstance(resolution.get("values"), dict):
            resolution["values"] = {k: _seal(cipher, k, v) for k, v in resolution["values"].items()}
        row.resolution = resolution | {"synced": True}
        row.resolved_by = data.get("resolved_by") or row.resolved_by
        row.resolved_at = _dt(data.get("resolved_at")) or row.resolved_at or datetime.now(UTC)
    return True


def close_missing(s: Session, open_ids: set[str]) -> int:
    """After a snapshot: open records the server no longer has open were resolved meanwhile."""
    closed = 0
    for row in s.scalars(select(Conflict).where(Conflict.status == "open")):
        if row.id not in open_ids:
            row.status = "resolved"
            row.resolution = {"by": "snapshot", "synced": True}
            row.resolved_at = datetime.now(UTC)
            closed += 1
    return closed


def close_for_op(s: Session, op_id: str) -> None:
    """An op that had a conflict was resent (server restored) and applied this time."""
    for row in s.scalars(select(Conflict).where(Conflict.op_id == op_id,
                                                Conflict.status == "open")):
        row.status = "resolved"
        row.resolution = {"by": "applied when resent", "synced": True}
        row.resolved_at = datetime.now(UTC)


def reopen(s: Session, conflict_id: str, why: str) -> None:
    """Our ``conflict.resolve`` was rejected: the conflict is open again (unless the server closed it)."""
    row = s.get(Conflict, conflict_id)
    if row is None or (row.resolution or {}).get("synced", True):
        return
    row.status, row.resolved_by, row.resolved_at = "open", None, None
    row.resolution = {"rejected": why}


def migrate_legacy(s: Session) -> int:
    """Move conflict records kept as JSON in SyncState (older clients) into the table."""
    rows = s.scalars(select(SyncState).where(SyncState.key.like(LEGACY_PREFIX + "%"))).all()
    moved = 0
    for st in rows:
        try:
            rec = json.loads(st.value)
        except ValueError:
            rec = {}
        cid = rec.get("conflict_id") or rec.get("op_id") or st.key[len(LEGACY_PREFIX):]
        if s.get(Conflict, cid) is None:
            etype, eid = entity_of(str(rec.get("op_type") or "unknown"),
                                   str(rec.get("entity_id") or ""), None)
            s.add(Conflict(
                id=cid, entity_type=etype, entity_id=eid, op_id=rec.get("op_id"),
                field=_field_names(list(rec.get("fields") or {})), local_value=None,
                server_value=None, reason=rec.get("kind") or rec.get("reason") or "conflict",
                status=rec.get("status") or "open", resolution=rec.get("resolution"),
                created_at=_dt(rec.get("at")) or datetime.now(UTC)))
            moved += 1
        s.delete(st)
    legacy_count = s.get(SyncState, LEGACY_COUNT)
    if legacy_count is not None:
        s.delete(legacy_count)
    s.flush()
    return moved


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def current_values(s: Session, entity_type: str, entity_id: str) -> dict[str, Any]:
    """The fields of a product or order as this terminal holds them now ({} if it holds
    neither): what a resolution's audit entry records as ``before``, since the record's
    ``server`` side is only the value when the conflict was raised."""
    if entity_type == Entity.PRODUCT:
        product = s.get(Product, entity_id)
        return product_state(product) if product is not None else {}
    if entity_type == Entity.ORDER:
        order = s.get(Order, entity_id)
        if order is None:
            return {}
        return {"note": order.note, "lines": [line_payload(li) for li in order.lines],
                "order_discount_percent_ppm": order.order_discount_percent_ppm,
                "order_discount_amount": order.order_discount_amount}
    return {}


# ---------------------------------------------------------------- for people


@dataclass(frozen=True)
class ConflictView:
    """One conflict as a manager sees it: both sides in clear, per field."""

    id: str
    entity_type: str
    entity_id: str
    kind: str
    description: str
    fields: tuple[str, ...]
    local_value: dict[str, Any]  # the terminal side (what the conflicting edit wanted)
    server_value: dict[str, Any]  # the server side (None until the server's record arrives)
    status: str
    resolution: dict[str, Any] | None
    created_at: datetime
    op_id: str | None


def _view(row: Conflict, cipher: PersonalDataCipher | None) -> ConflictView:
    local = {k: _unseal(cipher, v) for k, v in (row.local_value or {}).items()}  # type: ignore[union-attr]
    server = {k: _unseal(cipher, v) for k, v in (row.server_value or {}).items()}  # type: ignore[union-attr]
    names = tuple(dict.fromkeys([*local, *server]))
    text = KIND_TEXT.get(row.reason, row.reason)
    if names:
        text = f"{', '.join(names)}: {text}"
    refused = (row.resolution or {}).get("rejected") if row.status == "open" else None
    if refused:  # our resolution came back rejected: say why, so the next choice can differ
        text = f"{text}. The last resolution was refused: {refused}"
    return ConflictView(row.id, row.entity_type, row.entity_id, row.reason, text, names, local,
                        server, row.status, row.resolution, row.created_at, row.op_id)


def open_conflicts(store: LocalStore) -> list[ConflictView]:
    """Open conflicts of this terminal's store, oldest first."""
    with store.db.read() as s:
        rows = s.scalars(select(Conflict).where(Conflict.status == "open")
                         .order_by(Conflict.created_at, Conflict.id)).all()
        return [_view(r, store.cipher) for r in rows]


def get(store: LocalStore, conflict_id: str) -> ConflictView | None:
    with store.db.read() as s:
        row = s.get(Conflict, conflict_id)
        return _view(row, store.cipher) if row is not None else None


def _checked_product_values(s: Session, product_id: str, values: dict[str, Any]
                            ) -> dict[str, Any]:
    """A resolution's product ``values`` as they will be stored, checked as the catalog
    editor checks an edit: each value with the shared product rules, and a chosen SKU or
    barcode not already another local product's (the editor's check and wording, naming
    that product). ConflictError with the message, before anything is written."""
    try:
        stored = check_fields(values)
        if "sku" in stored:
            check_sku_free(s, stored["sku"], product_id)
        if "barcodes" in stored:
            check_barcodes_free(s, stored["barcodes"], product_id)
    except (ProductFieldError, CatalogError) as exc:
        raise ConflictError(str(exc)) from exc
    return stored


def resolve(store: LocalStore, actor: Actor, conflict_id: str, choice: str,
            value: dict[str, Any] | None = None) -> None:
    """A manager settles a conflict: ``server`` keeps the server's values, ``terminal``
    applies the terminal side, ``custom`` applies ``value`` ({field: value}).

    Recorded as one mutation (audit entry + ``conflict.resolve`` operation); the server
    applies the values and the result comes back through the feed on every terminal.
    A product's values must pass the rules of a normal catalog edit
    (app/domain/product_rules.py), and a chosen SKU or barcode must not be another local
    product's (checked as the catalog editor checks it), else ConflictError and nothing
    is written. The audit
    entry's ``before`` is the value this till holds now, not the one recorded when the
    conflict was raised.
    """
    require(actor.role, Action.CONFLICT_RESOLVE)
    if choice not in CHOICES:
        raise ConflictError(f"Choose one of: {', '.join(CHOICES)}")
    with mutation(store.db, store.device_id, actor, OpType.CONFLICT_RESOLVE) as m:
        row = m.session.get(Conflict, conflict_id)
        if row is None:
            raise ConflictError("Conflict not found")
        if row.status != "open":
            raise ConflictError(f"This conflict was already {row.status}")
        view = _view(row, store.cipher)
        if choice != "server" and row.reason in SERVER_ONLY_KINDS:
            raise ConflictError(f"{KIND_TEXT[row.reason]}: only the server's state can be kept")
        if choice == "custom":
            if not value:
                raise ConflictError("A custom resolution needs a value for each field to set")
            extra = set(value) - set(view.fields)
            if extra:
                raise ConflictError(f"Not part of this conflict: {', '.join(sorted(extra))}")
            chosen = dict(value)
        elif choice == "terminal":
            chosen = dict(view.local_value)
        else:
            chosen = {}
        if chosen and row.entity_type == Entity.PRODUCT:  # the rules of a normal catalog edit
            chosen = _checked_product_values(m.session, row.entity_id, chosen)
        now = current_values(m.session, row.entity_type, row.entity_id) if chosen else {}
        row.status = "resolved"
        row.resolution = {"choice": choice,
                          "values": {k: _seal(store.cipher, k, v) for k, v in chosen.items()},
                          "synced": False}
        row.resolved_by, row.resolved_at = actor.staff_id, m.at
        changes: dict[str, Any] = {"status": {"before": "open", "after": "resolved"}}
        for name, v in chosen.items():
            if name not in PERSONAL_FIELDS:
                changes[name] = {"before": now.get(name, view.server_value.get(name)), "after": v}
        m.audit(Entity.CONFLICT, row.id, changes, reason=f"{choice} ({row.entity_type} {row.entity_id})")
        m.emit(OpType.CONFLICT_RESOLVE, row.id, ConflictResolve.model_validate(
            {"conflict_id": row.id, "choice": choice,
             "value": chosen if choice == "custom" else None}))
