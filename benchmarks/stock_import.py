"""Catalog CSV import of 100,000 rows through catalog_csv.import_csv (target < 20 s).

Baseline in the same run: reading the same file with the csv module alone
(``csv.DictReader`` over every row), so the ratio shows what validation, the
all-or-nothing transaction, the price history, audit and outbox rows cost on top.
"""

from __future__ import annotations

import csv
import io
import time

from app.domain.barcode import with_check_digit

IMPORT_TARGET_S = 20.0


def generate_csv(rows: int) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["sku", "name", "price", "tax_rate", "barcodes", "category", "reorder_level", "active"])
    cats = ["Bakery", "Dairy", "Drinks", "Snacks", "Household", "Frozen"]
    for i in range(1, rows + 1):
        w.writerow([f"BENCH{i:07d}", f"Bench Product {i} {cats[i % 6]} 500g", f"{i % 97 + 1}.{i % 100:02d}",
                    "23" if i % 3 else "13.5", with_check_digit(f"73{i:010d}"), cats[i % 6],
                    str(i % 20), "yes"])
    return out.getvalue()


def bench_import(store, actor, rows: int) -> dict[str, float]:
    from app.services import catalog_csv

    text = generate_csv(rows)
    t0 = time.perf_counter()
    parsed = sum(1 for _ in csv.DictReader(io.StringIO(text)))
    baseline = time.perf_counter() - t0
    assert parsed == rows
    ticks: list[int] = []
    t0 = time.perf_counter()
    report = catalog_csv.import_csv(store, actor, text, source="bench.csv", progress=lambda d, t: ticks.append(d))
    elapsed = time.perf_counter() - t0
    if not report.ok or report.created != rows:
        raise RuntimeError(f"import failed: {report.errors[:5]}")
    assert ticks and ticks[-1] == rows
    return {"import_s": elapsed, "csv_only_s": baseline, "rows": rows}


def print_import(r: dict[str, float]) -> bool:
    ok = r["import_s"] < IMPORT_TARGET_S
    print(f"{'CSV import (import_csv)':<40} {r['rows']:>7} {r['import_s']:>10.2f} s   "
          f"target < {IMPORT_TARGET_S:.0f} s  {'PASS' if ok else 'FAIL'}")
    print(f"{'baseline: csv.DictReader only':<40} {r['rows']:>7} {r['csv_only_s']:>10.2f} s   "
          f"ratio {r['import_s'] / r['csv_only_s']:.1f}x")
    return ok
