"""Customer personal data inside outbox operations is sealed at rest, transparently.

An ``order.create`` payload carries the customer (name, phone, email) so the server
can store it; the outbox row must not keep those in clear in the SQLite file. The
sealing happens at the ORM boundary, so code that builds or reads payloads (the
sales service, the sync push) keeps seeing the plain payload of the sync contract:

* on INSERT/UPDATE of an ``OutboxOperation`` the personal fields are replaced by one
  AES-GCM ciphertext (``"sealed"``) made with the terminal's data key;
* on load they are opened again, so ``row.payload`` is the wire payload.

The cipher comes from the session (``session.info["cipher"]``, set by
:meth:`app.store.database.Database.set_cipher`). Writing personal data through a
session without a cipher is refused rather than written in clear.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import attributes, object_session

from app.domain.operations import Personal, spec_of
from app.store.models import OutboxOperation

PII_FIELDS = ("name", "phone", "email")
SEALED = "sealed"
_AAD = "outbox/pii"


class PersonalDataUnsealed(RuntimeError):
    """Personal data was about to be written in clear (no cipher on the session)."""


def _seal_dict(cipher: Any, d: dict[str, Any]) -> dict[str, Any]:
    pii = {k: d[k] for k in PII_FIELDS if d.get(k) is not None}
    if not pii:
        return d
    if cipher is None:
        raise PersonalDataUnsealed("customer data in an outbox operation needs the store's cipher")
    out = {k: v for k, v in d.items() if k not in PII_FIELDS}
    blob = cipher.encrypt(json.dumps(pii, sort_keys=True), field=_AAD)
    out[SEALED] = base64.b64encode(blob).decode()
    return out


def _open_dict(cipher: Any, d: dict[str, Any]) -> dict[str, Any]:
    if SEALED not in d or cipher is None:
        return d
    out = {k: v for k, v in d.items() if k != SEALED}
    out.update(json.loads(cipher.decrypt(base64.b64decode(d[SEALED]), field=_AAD)))
    return out


def _seal_tree(cipher: Any, node: Any, in_customer: bool) -> Any:
    """Seal every customer's personal fields, however deep: ``order.create``'s
    ``customer``, an edit's ``fields.customer.base/value``, a conflict resolution's value."""
    if isinstance(node, list):
        return [_seal_tree(cipher, item, in_customer) for item in node]
    if not isinstance(node, dict):
        return node
    if in_customer and any(node.get(k) is not None for k in PII_FIELDS):
        return _seal_dict(cipher, node)
    return {k: _seal_tree(cipher, v, in_customer or k == "customer") for k, v in node.items()}


def _open_tree(cipher: Any, node: Any) -> Any:
    if isinstance(node, list):
        return [_open_tree(cipher, item) for item in node]
    if not isinstance(node, dict):
        return node
    node = _open_dict(cipher, node)
    return {k: _open_tree(cipher, v) for k, v in node.items()}


def seal_payload(cipher: Any, payload: dict[str, Any] | None, op_type: str = "") -> dict[str, Any] | None:
    """The at-rest form of a payload: every customer's personal fields sealed.

    Anything under a ``customer`` key (at any depth) and, for operations the catalogue
    says are about a customer (``Personal.OWN``), the payload's own name/phone/email.
    """
    if not isinstance(payload, dict):
        return payload
    spec = spec_of(op_type)
    return _seal_tree(cipher, payload, spec is not None and spec.personal is Personal.OWN)


def open_payload(cipher: Any, payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """The wire form of a stored payload (personal fields opened)."""
    if not isinstance(payload, dict) or cipher is None:
        return payload
    return _open_tree(cipher, payload)


def _cipher_of(target: OutboxOperation) -> Any:
    session = object_session(target)
    return session.info.get("cipher") if session is not None else None


@event.listens_for(OutboxOperation, "before_insert")
@event.listens_for(OutboxOperation, "before_update")
def _before_write(_mapper: Any, _conn: Any, target: OutboxOperation) -> None:
    clear = target.payload
    sealed = seal_payload(_cipher_of(target), clear, target.type)
    if sealed is not clear and sealed != clear:
        target.__dict__["_clear_payload"] = clear
        target.payload = sealed


@event.listens_for(OutboxOperation, "after_insert")
@event.listens_for(OutboxOperation, "after_update")
def _after_write(_mapper: Any, _conn: Any, target: OutboxOperation) -> None:
    clear = target.__dict__.pop("_clear_payload", None)
    if clear is not None:
        attributes.set_committed_value(target, "payload", clear)


@event.listens_for(OutboxOperation, "load")
@event.listens_for(OutboxOperation, "refresh")
def _on_load(target: OutboxOperation, *_args: Any) -> None:
    payload = target.__dict__.get("payload")
    if payload is None:
        return
    opened = open_payload(_cipher_of(target), payload)
    if opened is not payload:
        attributes.set_committed_value(target, "payload", opened)
