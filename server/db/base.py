"""Declarative base with a constraint naming convention and portable column types."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, MetaData, Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")
# Append-only logs (results, audit changes, feed data, event payloads) are written once
# per change and read back whole, never queried inside: PostgreSQL's ``json`` keeps the
# text as written, where ``jsonb`` parses, sorts and re-encodes every document on the
# way in and out (a third of the database's work for a push of sales).
LogJSON = JSON()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite drops tz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Any:
        """The usual processing, remembering its last answer: the rows a push writes
        share a handful of timestamps (its ``now``), each formatted once, not per row."""
        process = super().bind_processor(dialect)
        last: tuple[Any, Any] = (None, None)

        def remembering(value: Any) -> Any:
            nonlocal last
            seen = last  # one read: another thread may replace it meanwhile
            if value is not None and value is seen[0]:
                return seen[1]
            out = process(value)
            last = (value, out)
            return out

        return remembering


def json_dumps(value: Any) -> str:
    """JSON columns' serializer: orjson (about 5x faster than json, which a push of
    sales spends a fifth of its time in), and json where orjson refuses (an integer
    beyond 64 bits, say). Values are read back with json, which keeps big integers."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


def cast_table(model: Any) -> Table:
    """A mapped class's Table, typed as one (``Model.__table__`` is typed as a
    FromClause, which Core's ``insert`` does not take)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


# ---------------------------------------------------------------- personal data at rest

SEALED_PREFIX = "enc1:"
PERSONAL_FIELDS = frozenset({"name", "phone", "email"})
PERSONAL_ROOT = "customer"


class MissingDataKey(RuntimeError):
    """Personal data was about to be written by an engine that has no data key."""


def _cipher_of(dialect: Dialect) -> Any:
    return getattr(dialect, "tillsync_cipher", None)


def seal_tree(value: Any, cipher: Any, inside: bool = False) -> Any:
    """A JSON value whose name/phone/email strings under a ``customer`` key are sealed.

    Containers holding nothing to seal are returned as they are (not copied); the
    others are copied, so the caller's value is never changed.
    """
    if isinstance(value, dict):
        out: dict[Any, Any] | None = None
        for key, item in value.items():
            kind = type(item)
            if kind is dict or kind is list or (
                    kind is not str and isinstance(item, (dict, list))):
                new = seal_tree(item, cipher, inside or key == PERSONAL_ROOT)
                if new is item:
                    continue
            elif inside and key in PERSONAL_FIELDS and isinstance(item, str) and item \
                    and not item.startswith(SEALED_PREFIX):
                if cipher is None:
                    raise MissingDataKey("no data key: personal data cannot be stored")
                new = cipher.seal(key, item)
            else:
                continue
            if out is None:
                out = dict(value)
            out[key] = new
        return value if out is None else out
    if isinstance(value, list):
        changed: list[Any] | None = None
        for i, item in enumerate(value):
            if isinstance(item, (dict, list)):
                new = seal_tree(item, cipher, inside)
                if new is not item:
                    if changed is None:
                        changed = list(value)
                    changed[i] = new
        return value if changed is None else changed
    return value


_CUSTOMER_OBJECT = f'"{PERSONAL_ROOT}":{{'.encode()
_CUSTOMER_ARRAY = f'"{PERSONAL_ROOT}":['.encode()


def may_hold_customer(value: Any) -> bool:
    """Whether a JSON value may have a ``customer`` object or array anywhere in it.

    A key can only appear unescaped in compact JSON as ``"customer":{`` or ``"customer":[``
    (inside a string its quotes would be escaped), so one C-speed encoding and a search
    answer for most values what :func:`seal_tree` finds walking them in Python: a sale
    without a customer writes its state to the feed, an event and an audit entry, and
    none of them needs the walk. True (walk it) when in doubt."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return True
    return _CUSTOMER_OBJECT in text or _CUSTOMER_ARRAY in text


def open_tree(value: Any, cipher: Any) -> Any:
    """The inverse of :func:`seal_tree` (sealed strings stay sealed without a key)."""
    if isinstance(value, dict):
        return {key: (cipher.open(key, item)
                      if cipher is not None and isinstance(item, str)
                      and item.startswith(SEALED_PREFIX) else open_tree(item, cipher))
                for key, item in value.items()}
    if isinstance(value, list):
        return [open_tree(item, cipher) for item in value]
    return value


class PersonalJSON(TypeDecorator[Any]):
    """JSON whose customer name/phone/email are AES-GCM sealed with the engine's data key.

    The key is the :class:`server.crypto.DataCipher` attached to the engine's dialect
    (``server.crypto.attach``), so each server instance uses its own key.
    """

    impl = JSON
    cache_ok = True

    def __init__(self, *, binary: bool = True) -> None:
        """``binary=False``: plain ``json`` on PostgreSQL, for append-only logs (LogJSON)."""
        super().__init__()
        self.binary = binary

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql" and self.binary:
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or not may_hold_customer(value):
            return value
        return seal_tree(value, _cipher_of(dialect))

    def bind_processor(self, dialect: Dialect) -> Any:
        """As the usual processing (seal, then the engine's JSON serializer), but a value
        with no customer in it is encoded once, not once to look and once to store."""
        process = super().bind_processor(dialect)
        if getattr(dialect, "_json_serializer", None) is not json_dumps:
            return process

        def encode(value: Any) -> Any:
            if type(value) is dict or type(value) is list:
                try:
                    text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
                except TypeError:
                    return process(value)
                if _CUSTOMER_OBJECT not in text and _CUSTOMER_ARRAY not in text:
                    return text.decode()  # what json_dumps(value) stores
            return process(value)

        return encode

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return open_tree(value, _cipher_of(dialect))


class PersonalRecordJSON(PersonalJSON):
    """A JSON record that is itself personal data (its top-level name/phone/email are sealed)."""

    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return seal_tree(value, _cipher_of(dialect), inside=True)

    def bind_processor(self, dialect: Dialect) -> Any:
        # no shortcut: the whole record is personal, with no ``customer`` key to look for
        return TypeDecorator.bind_processor(self, dialect)
