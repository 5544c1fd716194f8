"""Child process of the crash test: records sales as fast as it can until it is killed.

Usage: python -m tests.app.crash_child DATA_DIR

Python and the app are imported once; then for every ``GO <seed>`` line read on
stdin the process forks a till (before any database is opened), prints
``PID <pid>``, and that till opens the store, prints ``READY`` and records sales
as fast as it can, printing ``DONE <reference>`` after each record_sale returned
(what the screen would show as done). The test SIGKILLs the till; on the next
line (``REAP``) this process reaps it and prints ``REAPED <status>``, after the
till's last output. ``QUIT`` ends it.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import keyring
from keyring.backends import fail
from sqlalchemy import select

from app.domain.cart import Cart, CartLine
from app.domain.permissions import Role
from app.domain.tender import Method, Tender
from app.domain.totals import Discount
from app.services import sales
from app.services.customers import CustomerDetails
from app.store.local import open_store
from app.store.models import Product
from app.store.unit_of_work import Actor

PASSPHRASE = "test-passphrase"
ACTOR = Actor("00000000-0000-7000-8000-000000000002", "Max Manager", Role.MANAGER)


def till(data_dir: Path, seed: int) -> None:
    rng = random.Random(seed)
    store = open_store(data_dir, passphrase=PASSPHRASE)
    with store.db.read() as s:
        products = [(p.id, p.sku, p.name, p.price, p.tax_rate_ppm, p.sold_by_weight)
                    for p in s.scalars(select(Product))]
    print("READY", flush=True)
    while True:
        cart = Cart(tax_inclusive=rng.random() < 0.8)
        for _ in range(rng.randint(1, 8)):
            pid, sku, name, price, rate, weighed = rng.choice(products)
            qty = rng.randint(50, 2500) if weighed else rng.randint(1, 4) * 1000
            cart.add(CartLine(pid, sku, name, price, rate, qty_milli=qty, weighed=weighed))
        if rng.random() < 0.2:
            cart.add(CartLine(None, None, "Open item", rng.randint(1, 5000), 230_000))
        if rng.random() < 0.2:
            cart.set_order_discount(Discount(percent_ppm=rng.choice([50_000, 100_000])))
        total = cart.totals().total
        kind = rng.random()
        if total == 0:
            tenders = []
        elif kind < 0.45:
            tenders = [Tender(Method.CASH, total + rng.randint(0, 2000))]
        elif kind < 0.8 and total > 1:
            card = rng.randint(1, total - 1)
            tenders = [Tender(Method.CARD, card), Tender(Method.CASH, total - card + rng.randint(0, 500))]
        elif kind < 0.9:
            tenders = [Tender(Method.CARD, total)]
        else:
            tenders = [Tender(Method.CASH, max(1, total // 3))]  # a part payment: order stays pending
        customer = None
        if rng.random() < 0.1:
            customer = CustomerDetails(None, f"Crash Customer {rng.randint(1, 50)}",
                                       f"+35386{rng.randint(0, 9999999):07d}", None)
        result = sales.record_sale(store, ACTOR, cart, tenders, customer=customer)
        # One write(2) per line (atomic on a pipe): a kill can never leave half a line
        # in the shared pipe for the parent's REAPED line to be glued onto.
        os.write(1, f"DONE {result.reference}\n".encode())


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
