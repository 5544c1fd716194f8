"""Child process of the count crash test: forks tills that commit one count until killed.

Usage: python -m tests.app.count_crash_child DATA_DIR

Python and the app are imported once (a new interpreter per attempt cost more than the
rest of the test); then for every ``GO <count_id>`` line read on stdin the process forks
a till (before any database is opened). The till opens the store, prints
``READY <its pid>``, then commits the count named COUNT_ID: every product of the
store counted at 25.000 (the same count the parent retries) and prints ``DONE`` once
commit_count returned, then exits (the store left open, as a till that
was switched off). The parent SIGKILLs the till at a random moment; on
the next line (``REAP``) this process reaps it and prints ``REAPED <status>``, after the
till's last output. ``QUIT`` ends it.
"""

from __future__ import annotations

import os
import sys
import traceback
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


def till(data_dir: Path, count_id: str) -> None:
    """One till's life: open the store, say READY, commit the count, say DONE."""
    store = open_store(data_dir, passphrase=PASSPHRASE)
    session = the_count(store, count_id)
    os.write(1, f"READY {os.getpid()}\n".encode())  # one write(2) a line: never half a line
    stock_count.commit_count(store, CLERK, session)
    os.write(1, b"DONE\n")


def main() -> None:
    data_dir = Path(sys.argv[1])
    keyring.set_keyring(fail.Keyring())
    pid = 0
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "GO":
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    till(data_dir, args[0])
                    status = 0
                except BaseException:
                    traceback.print_exc()
                finally:
                    sys.stderr.flush()
                    os._exit(status)  # the forked till never returns into this loop
        elif cmd == "REAP":
            _, status = os.waitpid(pid, 0)
            print("REAPED", status, flush=True)
        elif cmd == "QUIT":
            return


if __name__ == "__main__":
    main()
