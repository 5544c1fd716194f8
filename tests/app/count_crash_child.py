"""Child process of the count crash test: commits one count until it is killed.

Usage: python -m tests.app.count_crash_child DATA_DIR COUNT_ID

Opens the store, prints ``READY``, then commits the count named COUNT_ID: every
product of the store counted at 25.000 (the same count the parent retries) and
prints ``DONE`` once commit_count returned. The parent SIGKILLs it at a random moment.
"""

from __future__ import annotations

import sys
from pathlib import Path

import keyring
from keyring.backends import fail
from sqlalchemy import select

from app.domain.permissions import Role
from app.services import stock_count
from app.store.local import open_store
from app.store.models import Product
from app.store.unit_of_work import Actor

PASSPHRASE = "test-passphrase"
CLERK = Actor("00000000-0000-7000-8000-000000000004", "Sam Stock", Role.STOCK)
COUNTED = 25_000


def the_count(store, count_id: str) -> stock_count.CountSession:
    """The count both the child and the parent's retry commit."""
    session = stock_count.CountSession(store, count_id=count_id, reference="COUNT-CRASH")
    with store.db.read() as s:
        for pid in s.scalars(select(Product.id).order_by(Product.id)):
            session.set_count(pid, COUNTED)
    return session


def main() -> None:
    keyring.set_keyring(fail.Keyring())
    data_dir, count_id = Path(sys.argv[1]), sys.argv[2]
    store = open_store(data_dir, passphrase=PASSPHRASE)
    session = the_count(store, count_id)
    print("READY", flush=True)
    stock_count.commit_count(store, CLERK, session)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
