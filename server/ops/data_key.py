"""Rotating the server's customer-data key (``tillsync-server rotate-data-key``).

Why it is resumable and safe to kill: customer data is sealed in many rows (every
``PersonalJSON`` column: customers, orders, the feed, events, conflicts, quarantine,
the audit trail), in the staff's approval keys and the JWT keys, and phone look-ups use
a keyed index. Re-sealing all of it takes a while; a crash or SIGKILL in the middle
must lose nothing. So:

1. the rotation is written down first (``server_meta`` ``data_key_rotation``: from and
   to fingerprints, and how far each table got); while it is there the server refuses
   to start with either key alone (server/crypto.py ``check_fingerprint``);
2. rows are re-sealed in batches, each batch in one transaction with its progress:
   opened with either key (AES-GCM says which one fits), sealed and indexed with the
   new one; running it again carries on after the last batch committed (a row done
   twice is harmless);
3. the last transaction sets the new key's fingerprint and removes the record; for the
   SQLite default the key file is replaced after it (run again to finish that step).

The audit trail is append-only (a trigger refuses any change): its entries keep the
seal of their time, so the old key becomes a *retired* key that only opens
(TILLSYNC_SERVER_RETIRED_DATA_KEYS; for the SQLite default, the key file's ``.retired``
companion, written here).

It may run while the server serves: a running server reads the key generation
(server/crypto.py ``KeyFollower``) and seals with the new key once the rotation is
announced; for the SQLite default it finds the new key in the key file's ``.next``
companion (written before the announcement); a server given its key in
TILLSYNC_SERVER_DATA_KEY cannot learn the new one and seals no customer data until it is
restarted with it (TILLSYNC_SERVER_DATA_KEY, the old one in
TILLSYNC_SERVER_RETIRED_DATA_KEYS). docs/server-deploy.md.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import Table, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from server import crypto
from server.db.base import Base, PersonalJSON
from server.db.models import ServerMeta, Staff

ROTATION_KEY = crypto.ROTATION_KEY
BATCH = 500
#: tables no row of which may change (a trigger refuses): their seals stay, opened with
#: the retired key (TILLSYNC_SERVER_RETIRED_DATA_KEYS or the key file's ``.retired``)
APPEND_ONLY = frozenset({"audit_entries"})
#: the keyed phone index of a table: (column, how the phone is found in the row's data)
INDEXES: dict[str, tuple[str, str, str]] = {
    "customers": ("phone_index", "data", "phone"),
    "orders": ("customer_phone_index", "customer", "phone"),
}


class RotationRefused(RuntimeError):
    """The rotation cannot go on, said in words."""


class RotatingCipher:
    """Opens with the new key or the old one; seals and indexes with the new one."""

    def __init__(self, new: crypto.DataCipher, old: crypto.DataCipher) -> None:
        self.new, self.old = new, old
        self.fingerprint = new.fingerprint

    def seal(self, field_name: str, value: str) -> str:
        return self.new.seal(field_name, value)

    def open(self, field_name: str, token: str) -> str:
        try:
            return self.new.open(field_name, token)
        except InvalidTag:
            return self.old.open(field_name, token)

    def phone_index(self, phone: str | None) -> str | None:
        return self.new.phone_index(phone)

    def online_approval_secret(self, staff_id: str, epoch: int) -> bytes:
        return self.new.online_approval_secret(staff_id, epoch)


@dataclass
class Rotated:
    rows: dict[str, int] = field(default_factory=dict)
    finished: bool = False


def personal_tables() -> list[tuple[Table, list[str]]]:
    """Every table with sealed JSON columns, and those columns."""
    import server.db.models  # noqa: F401  (every table registered)

    found = []
    for table in Base.metadata.sorted_tables:
        cols = [c.name for c in table.columns if isinstance(c.type, PersonalJSON)]
        if cols and table.name not in APPEND_ONLY:
            found.append((table, cols))
    return found


def _meta(session: Session, key: str) -> ServerMeta | None:
    return session.get(ServerMeta, key)


def _start(engine: Engine, cipher: RotatingCipher) -> dict[str, Any] | None:
    """The rotation's record (made now if new); None when it is finished already."""
    with Session(engine) as session, session.begin():
        fp = _meta(session, crypto.FINGERPRINT_KEY)
        record = _meta(session, ROTATION_KEY)
        if record is not None:
            state: dict[str, Any] = json.loads(record.value)
            if state["to"] != cipher.new.fingerprint or state["from"] != cipher.old.fingerprint:
                raise RotationRefused("another data-key rotation is unfinished; run it again "
                                      "with the keys it started with")
            return state
        if fp is not None and fp.value == cipher.new.fingerprint:
            return None  # done before (the key file may still need writing)
        if fp is not None and fp.value != cipher.old.fingerprint:
            raise RotationRefused("the current key given is not this database's data key")
        state = {"from": cipher.old.fingerprint, "to": cipher.new.fingerprint, "done": {}}
        session.add(ServerMeta(key=ROTATION_KEY, value=json.dumps(state)))
        return state


def _save(session: Session, state: dict[str, Any]) -> None:
    record = _meta(session, ROTATION_KEY)
    assert record is not None
    record.value = json.dumps(state)


def _batch(engine: Engine, table: Table, cols: list[str], state: dict[str, Any],
           cipher: RotatingCipher, size: int) -> int:
    """Re-seal the next batch of ``table``, with its progress, in one transaction."""
    pk = next(iter(table.primary_key.columns))
    index = INDEXES.get(table.name)
    after = state["done"].get(table.name)
    with Session(engine) as session, session.begin():
        stmt = select(pk, *[table.c[c] for c in cols]).order_by(pk).limit(size)
        if after is not None:
            stmt = stmt.where(pk > after)
        rows = session.execute(stmt).all()
        for row in rows:
            values: dict[str, Any] = {c: getattr(row, c) for c in cols}
            if index is not None:
                column, source, key = index
                data = values.get(source)
                phone = data.get(key) if isinstance(data, dict) else None
                values[column] = cipher.phone_index(phone if isinstance(phone, str) else None)
            session.execute(update(table).where(pk == row[0]).values(**values))
        if rows:
            state["done"][table.name] = rows[-1][0]
        else:
            state["done"][table.name + ":finished"] = True
        _save(session, state)
        return len(rows)


def _reseal_secrets(engine: Engine, cipher: RotatingCipher) -> None:
    """The staff's approval keys and the JWT keys, sealed one by one (few rows)."""
    from server.auth import jwt_keys
    from server.auth.approval_keys import _field

    with Session(engine) as session, session.begin():
        for person in session.scalars(select(Staff).where(Staff.approval_key.is_not(None))):
            value = cipher.open(_field(person.id), person.approval_key or "")
            person.approval_key = cipher.seal(_field(person.id), value)
        for row in session.scalars(select(ServerMeta)
                                   .where(ServerMeta.key.like(jwt_keys.PREFIX + "%"))):
            doc = json.loads(row.value)
            if "secret" in doc:
                doc["secret"] = cipher.seal(jwt_keys._FIELD, cipher.open(jwt_keys._FIELD,
                                                                         doc["secret"]))
                row.value = json.dumps(doc)


def rotate_data_key(engine: Engine, old_key: bytes, new_key: bytes, *, batch: int = BATCH,
                    after_batch: Callable[[str, int], None] | None = None,
                    settle_s: float = crypto.FOLLOW_S) -> Rotated:
    """Re-seal everything with ``new_key``; resumes an unfinished rotation (same keys).

    ``settle_s``: how long to wait, once the rotation is announced, before re-sealing:
    running servers read the announcement within ``crypto.CHECK_S`` and seal with the new
    key from then on (or, without it, seal nothing), so no row is sealed with the old key
    behind the re-sealing (server/crypto.py ``KeyFollower``)."""
    cipher = RotatingCipher(crypto.DataCipher(new_key), crypto.DataCipher(old_key))
    crypto.attach(engine, cipher)  # type: ignore[arg-type]
    done = Rotated()
    state = _start(engine, cipher)
    if state is None:
        done.finished = True
        return done
    if not state["done"] and settle_s > 0:
        time.sleep(settle_s)
    for table, cols in personal_tables():
        while not state["done"].get(table.name + ":finished"):
            n = _batch(engine, table, cols, state, cipher, batch)
            done.rows[table.name] = done.rows.get(table.name, 0) + n
            if after_batch is not None:
                after_batch(table.name, n)
    _reseal_secrets(engine, cipher)
    with Session(engine) as session, session.begin():
        fp = _meta(session, crypto.FINGERPRINT_KEY)
        if fp is None:
            session.add(ServerMeta(key=crypto.FINGERPRINT_KEY, value=cipher.new.fingerprint))
        else:
            fp.value = cipher.new.fingerprint
        record = _meta(session, ROTATION_KEY)
        if record is not None:
            session.delete(record)
    done.finished = True
    return done


def write_key_file(path: Path, key_b64: str) -> None:
    """Replace the SQLite default's key file (beside its name, then renamed)."""
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key_b64.strip() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
