"""Render the inventory and catalog screens offscreen into docs/screenshots/.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots_stock.py

A throwaway demo store, signed in as stock staff: a count session with
differences, the low-stock list, the catalog editor with price history, and the
report of a CSV file that was refused.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import demo  # noqa: E402
from app.services import catalog, catalog_edit, staff  # noqa: E402
from app.store.local import open_store  # noqa: E402
from app.store.models import Barcode, Product  # noqa: E402
from scripts.screenshots import OUT, SIZE, save  # noqa: E402
from scripts.screenshots import settle as shared_settle  # noqa: E402
from ui.main import Desktop, application  # noqa: E402


def settle(desktop: Desktop, app: QApplication) -> None:
    shared_settle(desktop, app, rounds=4)  # the stock screens load in two steps


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    app = application()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp), passphrase="screenshots")
        demo.seed(store, 400)
        desktop = Desktop(store, app)
        window = desktop.window
        window.resize(*SIZE)
        window.show()
        settle(desktop, app)
        clerk = staff.sign_in(store, "1004", "4444")
        window.on_signed_in(clerk)
        settle(desktop, app)
        inv = window.inventory
        with store.db.read() as s:
            codes = list(s.scalars(select(Barcode.code).join(Product, Product.id == Barcode.product_id)
                                   .where(Product.sold_by_weight.is_(False)).order_by(Barcode.code).limit(9)))
        for i, code in enumerate(codes):
            for _ in range((i * 7) % 13 + 1):
                inv.count_scan(code)
            settle(desktop, app)
        first = catalog.line_for_scan(store, codes[2]).product_id
        inv.model.set_count(first, inv.session.items[first].expected_milli)  # one shelf matches the books
        settle(desktop, app)
        save(window, "inventory-count")
        inv.count_buttons["review"].setChecked(True)
        inv.review()
        settle(desktop, app)
        save(window, "inventory-count-review")
        inv.tabs.setCurrentIndex(3)
        settle(desktop, app)
        save(window, "inventory-low-stock")
        inv.tabs.setCurrentIndex(1)
        settle(desktop, app)
        save(window, "inventory-receive")

        window.show_screen("catalog")
        cat = window.catalog
        pid = catalog.search(store, "Harbour")[0].id
        price = catalog.get(store, pid).price
        catalog_edit.update_product(store, clerk, pid, {"price": price + 20})
        catalog_edit.update_product(store, clerk, pid, {"price": price + 40})
        cat.search.setText("Harbour")
        cat.run_search()
        settle(desktop, app)
        cat.results.setCurrentCell(0, 0)
        settle(desktop, app)
        cat.fields["price"].setText("abc")
        cat.save()
        settle(desktop, app)
        save(window, "catalog-edit")
        bad = Path(tmp) / "supplier-update.csv"
        bad.write_text("sku,name,price,tax_rate,barcodes\n"
                       "S1,Good Line,1.99,23,5901234123457\n"
                       "S2,Bad Price,1.9.9,23,\n"
                       "S3,Same Code,2.00,23,5901234123457\n"
                       "S4,Bad Digit,1.00,23,5901234123450\n"
                       "S1,Twice,1.00,23,\n", encoding="utf-8")
        cat.import_file(bad)
        settle(desktop, app)
        save(cat.dialog, "catalog-import-report")
        cat.dialog.close()
        desktop.close()
        store.close()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
