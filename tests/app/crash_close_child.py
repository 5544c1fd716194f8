"""Child process of the close crash test: opens and closes shifts as fast as it can.

Usage: python -m tests.app.crash_close_child DATA_DIR

As tests/app/crash_child.py: for every ``GO <seed>`` line it forks a till that prints
``READY`` and then, in a loop, opens a shift (or finds the one a kill left open), records
a sale or a cash movement now and then, and closes the shift with its Z report, printing
``Z <number>`` once close_shift returned (what the screen would show as done). The test
SIGKILLs it at random moments; ``REAP`` reaps it, ``QUIT`` ends.
"""

from __future__ import annotations

import os
import random
import sys
import traceback
from pathlib import Path

import keyring
from keyring.backends import fail

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.services import cash_movements, sales, shift_reports, shifts
from app.store.local import open_store
from app.store.unit_of_work import Actor

PASSPHRASE = "test-passphrase"
ACTOR = Actor("00000000-0000-7000-8000-000000000002", "Max Manager", Role.MANAGER)


def till(data_dir: Path, seed: int) -> None:
    rng = random.Random(seed)
    store = open_store(data_dir, passphrase=PASSPHRASE)
    print("READY", flush=True)
    while True:
        if shifts.current_shift(store) is None:
            shifts.open_shift(store, ACTOR, rng.randint(0, 20_000))
        if rng.random() < 0.5:
            cart = Cart(tax_inclusive=True)
            cart.add(CartLine(None, None, "Thing", rng.randint(1, 5000), 230_000))
            sales.record_sale(store, ACTOR, cart, [Tender(Method.CASH, cart.totals().total)])
        if rng.random() < 0.3:
            cash_movements.pay_in(store, ACTOR, rng.randint(1, 1000), "change")
        expected = shift_reports.x_report(store).expected_cash
        # a drawer never holds less than nothing: with a small float and no takings,
        # expected - 400 would be a negative count, which close_shift rightly refuses
        counted = max(0, expected + rng.randint(-400, 400))
        z = shift_reports.close_shift(store, ACTOR, counted_cash=counted, over_short_reason="count")
        os.write(1, f"Z {z.z_number}\n".encode())


def main() -> None:
    data_dir = Path(sys.argv[1])
    keyring.set_keyring(fail.Keyring())
    pid = 0
    for line in sys.stdin:
        cmd, *args = line.split()
        if cmd == "GO":
            pid = os.fork()
            if pid == 0:
                try:
                    till(data_dir, int(args[0]))
                except BaseException:
                    # os._exit skips the interpreter's own report: print the traceback
                    # so the test can show why the till ended by itself
                    traceback.print_exc()
                    sys.stderr.flush()
                finally:
                    os._exit(1)
            print("PID", pid, flush=True)
        elif cmd == "REAP":
            _, status = os.waitpid(pid, 0)
            print("REAPED", status, flush=True)
        elif cmd == "QUIT":
            return


if __name__ == "__main__":
    main()
