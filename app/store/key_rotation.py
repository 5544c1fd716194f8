"""Rotating the till's customer-data key (``tillsync keys rotate``, issue 16 item 6).

The key seals every customer's name, phone and email, and keys the phone's blind index
(app/store/crypto.py). A rotation re-seals and re-indexes every customer row with a new
key, in batches, and must survive being killed at any moment without a row left under
no key. So:

1. the new key is stored first, beside the current one (the keyring's
   ``data-key/<install>/next`` entry or ``data-key.next.enc``), then the rotation is
   written down in the store (sync_state ``local.data_key_rotation``: both keys' checks
   and the last customer id done). Until it is finished the store does not open for
   the app (app/store/local.py): phone look-ups would miss the rows of one key;
2. customers are re-sealed in batches of ``BATCH``, each batch in one transaction with
   its progress; a row is opened with either key (AES-GCM says which fits) and sealed
   and indexed with the new one, so a batch done twice is harmless, and running the
   command again carries on after the last batch committed. The old key stays where it
   was all along;
3. the last transaction re-seals the parked sales' customers, sets the store's key
   check to the new key, ends the record and audits the rotation; then the new key
   takes the old one's place and the old one joins the *retired* keys, which only open
   (``data-key/<install>/retired`` or ``data-key.retired.enc``): what was sealed before
   and is never rewritten (journal entries, answered outbox operations, print jobs,
   backups) stays readable. Killed between the two, the store's check names the new key
   and opening the store finishes the swap (app/store/local.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.store import audit, keys
from app.store.crypto import KEY_BYTES, PersonalDataCipher
from app.store.database import Database
from app.store.local import KEY_CHECK, ROTATION, LocalStore
from app.store.models import Customer, Device, SyncState
from app.store.models_till_ui import ParkedSale

BATCH = 200
ROTATED = "data_key.rotated"
RESEALED = "data_key.resealed_after_restore"
FIELDS = ("name", "phone", "email")


class RotationRefused(RuntimeError):
    """The rotation cannot go on, said in words."""


@dataclass
class Rotated:
    customers: int = 0
    parked: int = 0
    resumed: bool = False


def _record(store: LocalStore) -> dict[str, str] | None:
    with store.db.read() as s:
        row = s.get(SyncState, ROTATION)
        return json.loads(row.value) if row is not None else None


def rotate_key(store: LocalStore, *, passphrase: str | None = None, batch: int = BATCH,
               new_key: bytes | None = None,
               after_batch: Callable[[int], None] | None = None) -> Rotated:
    """Re-seal every customer with a new key (or carry on with an unfinished rotation)."""
    data_dir, install = store.data_dir, store.device_id
    old = keys.load_or_create(data_dir, install, passphrase, create=False).key
    retired = keys.read_slot(data_dir, install, keys.RETIRED, passphrase)
    done = Rotated()
    state = _record(store)
    if state is None:
        new = new_key or os.urandom(KEY_BYTES)
        if len(new) != KEY_BYTES or new == old:
            raise RotationRefused("the new key must be 32 bytes and not the current key")
        keys.write_slot(data_dir, install, keys.NEXT, [new], passphrase)  # safe first
        state = {"from": keys.key_check(old), "to": keys.key_check(new), "after": ""}
        with store.db.write() as s:
            s.merge(SyncState(key=ROTATION, value=json.dumps(state)))
    else:
        done.resumed = True
        found = keys.read_slot(data_dir, install, keys.NEXT, passphrase)
        if not found or keys.key_check(found[0]) != state["to"]:
            raise RotationRefused(
                "an unfinished key rotation's new key is missing: restore the keyring "
                "entry or data-key.next.enc from the backup taken with it")
        if keys.key_check(old) != state["from"]:
            raise RotationRefused("the key found is not the one the rotation started from")
        new = found[0]
    both = PersonalDataCipher(new, [old, *retired])  # seals with new, opens with either
    while True:
        with store.db.write() as s:
            rows = _reseal_customers(s, both, state["after"], batch)
            if rows:
                state["after"] = rows[-1].id
                s.merge(SyncState(key=ROTATION, value=json.dumps(state)))
        done.customers += len(rows)
        if not rows:
            break
        if after_batch is not None:
            after_batch(len(rows))
    with store.db.write() as s:
        done.parked = _reseal_parked(s, both)
        s.merge(SyncState(key=KEY_CHECK, value=state["to"]))
        record = s.get(SyncState, ROTATION)
        if record is not None:
            s.delete(record)
        device = s.get(Device, store.device_id)
        assert device is not None
        audit.append(s, device, at=datetime.now(UTC), actor_id=device.id, action=ROTATED,
                     entity_type="device", entity_id=device.id,
                     changes={"key_check": {"before": state["from"], "after": state["to"]},
                              "customers": done.customers, "parked_sales": done.parked},
                     reason="tillsync keys rotate")
    promote(store.data_dir, install, passphrase)
    store.cipher = PersonalDataCipher(new, [old, *retired])
    store.db.set_cipher(store.cipher)
    return done


def _reseal_customers(s: Session, cipher: PersonalDataCipher, after: str, batch: int
                      ) -> list[Customer]:
    """The next ``batch`` customers after id ``after``, opened with any key ``cipher``
    knows, sealed and phone-indexed with its current one (safe to do twice)."""
    rows = list(s.scalars(select(Customer).where(Customer.id > after)
                          .order_by(Customer.id).limit(batch)))
    for c in rows:
        plain = {f: cipher.decrypt(getattr(c, f + "_enc"), field=f) for f in FIELDS}
        for f in FIELDS:
            setattr(c, f + "_enc", cipher.encrypt(plain[f], field=f))
        c.phone_index = cipher.phone_index(plain["phone"])
    return rows


def _reseal_parked(s: Session, cipher: PersonalDataCipher) -> int:
    """Every parked sale's customer sealed with ``cipher``'s current key; how many."""
    parked = 0
    for row in s.scalars(select(ParkedSale).where(ParkedSale.customer_enc.is_not(None))):
        text = cipher.decrypt(row.customer_enc, field="parked_customer")
        row.customer_enc = cipher.encrypt(text, field="parked_customer")
        parked += 1
    return parked


def promote(data_dir: os.PathLike[str] | str, install: str,
            passphrase: str | None = None) -> bytes | None:
    """The finished rotation's last step: the new key in the old one's place, the old
    one retired, the ``next`` slot emptied; None when there is no new key waiting.
    Safe to repeat from any point (each step checks what is there)."""
    from pathlib import Path

    data_dir = Path(data_dir)
    found = keys.read_slot(data_dir, install, keys.NEXT, passphrase)
    if not found:
        return None
    new = found[0]
    current = keys.load_or_create(data_dir, install, passphrase, create=False).key
    retired = keys.read_slot(data_dir, install, keys.RETIRED, passphrase)
    if current != new:
        if current not in retired:
            keys.write_slot(data_dir, install, keys.RETIRED, [*retired, current], passphrase)
        keys.write_slot(data_dir, install, "", [new], passphrase)
    keys.write_slot(data_dir, install, keys.NEXT, [], passphrase)
    return new


def reseal_restored(db: Database, device_id: str, cipher: PersonalDataCipher, *,
                    from_check: str, to_check: str, batch: int = BATCH) -> int:
    """Bring a store restored from a backup taken before a rotation to the current key.

    Why: the backup's customers are sealed (and their phones indexed) with a key the
    till has since retired; phone look-ups with the current key would miss them, and
    the store must not mix two keys for long. ``cipher`` seals with the current key and
    opens with the retired ones too, so each batch is safe to do twice: killed in the
    middle, the next opening starts again (the store's key check still names the
    retired key) and loses nothing. Returns how many customers were re-sealed."""
    after, count = "", 0
    while True:
        with db.write() as s:
            rows = _reseal_customers(s, cipher, after, batch)
        if not rows:
            break
        after, count = rows[-1].id, count + len(rows)
    with db.write() as s:
        parked = _reseal_parked(s, cipher)
        s.merge(SyncState(key=KEY_CHECK, value=to_check))
        device = s.get(Device, device_id)
        assert device is not None
        audit.append(s, device, at=datetime.now(UTC), actor_id=device.id, action=RESEALED,
                     entity_type="device", entity_id=device.id,
                     changes={"key_check": {"before": from_check, "after": to_check},
                              "customers": count, "parked_sales": parked},
                     reason="restored from a backup taken before a key rotation")
    return count
