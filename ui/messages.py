"""Every user-facing string of the desktop app in one place (Electrum's gui/messages.py)."""

from __future__ import annotations

EMPTY_CART = "Scan an item to start a sale"
EMPTY_CART_HINT = "or type a name or SKU to search (F2)"
NO_ORDERS = "No sales yet today"
NO_ORDER_SELECTED = "Select a sale to see its details"
SCAN_PLACEHOLDER = "Scan a barcode, or type a name or SKU…"
SIGN_IN_TITLE = "Who is working?"
SIGN_IN_HINT = "Tap your name, or type your staff code, then your PIN"
PICK_STAFF_FIRST = "Choose your name or type your staff code first"
ENTER_PIN = "Enter your PIN"
PRINTING_UNAVAILABLE = "Printing is not available on this terminal yet"
QUICK_ADD_UNAVAILABLE = ("Adding products at the till is not available yet. "
                         "Ask stock staff to add it to the catalog.")
CANCEL_SALE = "Cancel this sale? The items will be removed."
UNEXPECTED = "Something went wrong. The details were written to the log."
SCAN_WHILE_BUSY = "Finish the payment first, then scan the next item"


def unknown_barcode(code: str) -> str:
    return f"No product has barcode {code}"


def not_for_sale(name: str) -> str:
    """A scan of an inactive product: said plainly, so the cashier does not scan it again."""
    return f"{name} is not for sale (inactive). Nothing was added to the sale."


def inactive_product(name: str) -> str:
    """How the catalog list shows a product a manager made inactive."""
    return f"{name} (inactive)"


def printer_failed(printer: str, detail: str) -> str:
    return (f"The receipt did not print on “{printer}”: {detail}. "
            "The sale is saved; reprint it from Today's sales.")


def sale_done(reference: str) -> str:
    return f"Sale {reference} complete"


def order_not_found(reference: str) -> str:
    return f"No order {reference} on this terminal"
