"""Render the main screens offscreen into docs/screenshots/*.png.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py

Uses a throwaway demo store: sign-in, the register with a cart, the tender
dialog mid-payment, and today's sales with a receipt preview; then every screen the
owner can open, at 1024x768 and 1366x768 (``screen-<screen>-<size>.png``, the sizes a
till's screen has: a window manager's title bar takes 32 pixels of the height), and
the screen printer's slip window.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import demo  # noqa: E402
from app.domain.tender import Method  # noqa: E402
from app.services import catalog, staff  # noqa: E402
from app.services.customers import CustomerDetails  # noqa: E402
from app.store.local import open_store  # noqa: E402
from app.store.models import Barcode, Product  # noqa: E402
from ui.main import Desktop, application  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZE = (1280, 800)
TILL_SIZES = ((1024, 768), (1366, 768))
TITLE_BAR = 32


def settle(desktop: Desktop, app: QApplication, rounds: int = 3) -> None:
    for _ in range(rounds):
        desktop.ops.wait_idle()
        app.processEvents()


def save(widget: QWidget, name: str) -> None:
    path = OUT / f"{name}.png"
    widget.grab().save(str(path))
    print(f"wrote {path.relative_to(ROOT)}")


def fill_cart(desktop: Desktop) -> None:
    store, register = desktop.ctx.store, desktop.window.register
    with store.db.read() as s:
        codes = list(s.scalars(select(Barcode.code).join(Product, Product.id == Barcode.product_id)
                               .where(Product.sold_by_weight.is_(False)).order_by(Barcode.code).limit(4)))
    for code in codes:
        register.model.add(catalog.line_for_scan(store, code))
    register.model.add(catalog.line_for_scan(store, codes[1]))
    register.customer_details = CustomerDetails(None, "Aoife Byrne", "+353 87 123 4567")
    register.model.refresh()


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
        window.signin.choose("1003")
        window.signin.pin.setText("33")
        save(window, "sign-in")
        window.on_signed_in(staff.sign_in(store, "1001", "111111"))
        fill_cart(desktop)
        settle(desktop, app)
        save(window, "register")
        window.register.pay()
        dialog = window.register.tender_dialog
        dialog.add(Method.CARD, 500)
        settle(desktop, app)
        save(dialog, "tender")
        dialog.add(Method.CASH, dialog.balance + 1000 - dialog.balance % 100)
        settle(desktop, app)
        save(dialog, "tender-change")
        dialog.accept()
        settle(desktop, app)
        save(window, "register-sale-done")
        window.show_screen("sales")
        settle(desktop, app)
        save(window, "todays-sales-receipt")
        window.show_screen("settings")
        settle(desktop, app)
        save(window, "settings")
        every_screen(desktop, app)
        slip(desktop, app)
        desktop.close()
        store.close()
    return 0


def every_screen(desktop: Desktop, app: QApplication) -> None:
    """Each screen the signed-in person can open, at each till size."""
    window = desktop.window
    for width, height in TILL_SIZES:
        window.resize(width, height - TITLE_BAR)
        for key, button in window.nav_buttons.items():
            if button.isVisible():
                window.show_screen(key)
                settle(desktop, app)
                save(window, f"screen-{key}-{width}x{height}")


def slip(desktop: Desktop, app: QApplication) -> None:
    """The screen printer's window with the last sale's receipt."""
    from printing.escpos_output import render_receipt
    from printing.receipt import build_receipt
    from printing.screen_printer import slip_text

    sale = desktop.window.register.last_sale
    if sale is None:
        return
    text = slip_text(render_receipt(build_receipt(desktop.ctx.store, sale.order_id)))
    desktop.window.show_slip("slips/slip-example.pdf", text)
    settle(desktop, app)
    if desktop.window.slip is not None:
        save(desktop.window.slip, "screen-printer-slip")


if __name__ == "__main__":
    sys.exit(main())
