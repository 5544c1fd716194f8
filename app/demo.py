"""A realistic demo store: ~2,000 products in 20 categories, weighed items, four staff.

The same deterministic generator feeds the terminal's standalone demo, the
embedded server's demo organization and the benchmarks (100,000 products), so
ids, SKUs and barcodes agree everywhere. Demo seeding is a bootstrap, not a
person's mutation: it writes one ``demo.seed`` audit entry and no outbox
operations (the server seeds the same catalog itself).
"""

from __future__ import annotations

import random

from sqlalchemy import insert, select

from app.domain.demo_catalog import (  # noqa: F401  (re-exported for callers of app.demo)
    CATEGORIES,
    DEMO_STAFF,
    DemoProduct,
    category_ids,
    demo_uuid,
    generate_products,
    staff_ids,
)
from app.store import audit
from app.store.base import utcnow
from app.store.local import LocalStore
from app.store.models import Barcode, Category, Device, Product, Staff, StockMovement


def seed_catalog(store: LocalStore, count: int = 2000, seed: int = 7, with_stock: bool = True) -> int:
    """Bulk-insert the generated catalog (fast path for 100,000 rows)."""
    cats = category_ids(seed)
    now = utcnow()
    with store.db.write() as s:
        s.execute(insert(Category), [{"id": cid, "name": n, "version": 1} for n, cid in cats.items()])
        batch_p, batch_b, batch_m = [], [], []
        rng = random.Random(seed + 1)
        n = 0
        for p in generate_products(count, seed):
            n += 1
            batch_p.append({"id": p.id, "sku": p.sku, "name": p.name, "category_id": cats[p.category],
                            "price": p.price, "tax_rate_ppm": p.tax_rate_ppm, "active": True,
                            "stock_tracked": True, "sold_by_weight": p.sold_by_weight,
                            "reorder_level_milli": p.reorder_level_milli, "version": 1, "updated_at": now})
            batch_b.extend({"code": c, "product_id": p.id} for c in p.barcodes)
            if with_stock and p.initial_stock_milli:
                batch_m.append({"id": demo_uuid(rng), "product_id": p.id, "kind": "count",
                                "qty_delta_milli": p.initial_stock_milli, "reason": "opening stock",
                                "created_at": now, "synced": True})
            if len(batch_p) >= 5000:
                _flush(s, batch_p, batch_b, batch_m)
        _flush(s, batch_p, batch_b, batch_m)
    return n


def _flush(s, products: list, barcodes: list, movements: list) -> None:
    if products:
        s.execute(insert(Product), products)
    if barcodes:
        s.execute(insert(Barcode), barcodes)
    if movements:
        s.execute(insert(StockMovement), movements)
    products.clear()
    barcodes.clear()
    movements.clear()


def seed_staff(store: LocalStore, seed: int = 7) -> None:
    from app.services.staff import hash_pin

    ids = staff_ids(seed)
    with store.db.write() as s:
        for name, code, role, pin in DEMO_STAFF:
            if s.scalar(select(Staff.id).where(Staff.code == code)) is None:
                s.add(Staff(id=ids[code], name=name, code=code, role=role.value, pin_hash=hash_pin(pin, role), version=1))


def seed(store: LocalStore, count: int = 2000) -> int:
    """Seed a demo store once; returns the number of products (0 if already seeded)."""
    with store.db.read() as s:
        if s.scalar(select(Product.id).limit(1)) is not None:
            return 0
    seed_staff(store)
    n = seed_catalog(store, count)
    with store.db.write() as s:
        from app.store.models import StoreSettings

        settings = s.scalars(select(StoreSettings)).one()
        settings.name = "Harbour Street Grocer"
        settings.address = "12 Harbour Street\nKinsale, Co. Cork"
        settings.tax_id = "IE1234567T"
        device = s.get(Device, store.device_id)
        audit.append(s, device, at=utcnow(), actor_id="system", action="demo.seed",
                     entity_type="store", entity_id=settings.id,
                     changes={"products": {"before": 0, "after": n}}, reason="demo data")
    return n
