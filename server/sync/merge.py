"""Field-level merge of concurrent edits, and conflict records that keep both sides.

For each edited field the terminal sends the value it started from (``base``) and the
value it wants (``value``). With the server's current value ``cur``:
``cur == base`` -> apply; ``cur == value`` -> already so; otherwise -> conflict on that
field (nothing overwritten). Fields without a conflict are applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.domain.ids import new_id
from app.domain.operations import Entity
from server.db.models import Conflict
from server.feed.serialize import conflict_state
from server.sync.common import OpContext, jsonable, same
from sync.payloads import FieldEdit

Normalizer = Callable[[str, Any], Any]


def _identity(_name: str, value: Any) -> Any:
    return value


def merge_fields(
    current: dict[str, Any], edits: dict[str, FieldEdit], normalize: Normalizer = _identity
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(fields to apply, conflicting fields with base/server/terminal values)."""
    to_apply: dict[str, Any] = {}
    conflicts: dict[str, dict[str, Any]] = {}
    for name, edit in edits.items():
        cur = normalize(name, current[name])
        if same(cur, normalize(name, edit.base)):
            if not same(cur, normalize(name, edit.value)):
                to_apply[name] = edit.value
        elif same(cur, normalize(name, edit.value)):
            continue
        else:
            conflicts[name] = {"base": edit.base, "server": current[name], "terminal": edit.value}
    return to_apply, conflicts


def record_conflict(
    oc: OpContext,
    entity_type: str,
    entity_id: str,
    kind: str,
    fields: dict[str, Any],
    store_id: str | None = None,
) -> Conflict:
    """Store a conflict, put it in the feed and the event outbox, in this transaction."""
    conflict = Conflict(
        id=new_id(), org_id=oc.terminal.org_id, store_id=store_id or oc.terminal.store_id,
        entity_type=entity_type, entity_id=entity_id, kind=kind, op_id=oc.op.op_id,
        op_type=oc.op.type.value, device_id=oc.terminal.terminal_id, actor_id=oc.actor.id,
        fields=jsonable(fields),
    )
    oc.session.add(conflict)
    oc.session.flush()
    state = conflict_state(conflict)
    oc.publish(Entity.CONFLICT, conflict.id, conflict.version, state,
               store_id=conflict.store_id)
    oc.emit("conflict.created", state)
    oc.audit(entity_type, entity_id, "conflict.created", {"fields": fields}, reason=kind,
             store_id=conflict.store_id)
    return conflict
