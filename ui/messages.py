"""Every user-facing string of the desktop app in one place (Electrum's gui/messages.py)."""

from __future__ import annotations

EMPTY_CART = "Scan an item to start a sale"
EMPTY_CART_HINT = "or type a name or SKU to search (F2)"
NO_ORDERS = "No sales yet today"
NO_ORDER_SELECTED = "Select a sale to see its details"
# whole in the register's scan field at 1024x768 ("Scan a barcode, or type a n…" was cut there)
SCAN_PLACEHOLDER = "Scan or type a name or SKU"
SIGN_IN_TITLE = "Who is working?"
SIGN_IN_HINT = "Tap your name, or type your staff code, then your PIN"
PICK_STAFF_FIRST = "Choose your name or type your staff code first"
ENTER_PIN = "Enter your PIN"
STAFF_LOADING = ("Getting the staff list ready… On the demo's first start this takes about a minute "
                 "and a half (the server starts, then the catalog and staff arrive).")
PRINTING_UNAVAILABLE = "Printing is not available on this terminal yet"
QUICK_ADD_UNAVAILABLE = ("Adding products at the till is not available yet. "
                         "Ask stock staff to add it to the catalog.")
CANCEL_SALE = "Cancel this sale? The items will be removed."
UNEXPECTED = "Something went wrong. The details were written to the log."
SCAN_WHILE_BUSY = "Finish the payment first, then scan the next item"
# (the scan is not repeated: at sign-in it may be a PIN typed fast into the wrong field)
SCAN_AT_SIGN_IN = "That scan is not a staff code. Tap your name or type your staff code, then your PIN"


def scan_behind_dialog(code: str) -> str:
    return f"The scan {code} was not used: finish or close the open window first, then scan again"


def scan_not_here(code: str) -> str:
    return f"The scan {code} was not used: this screen takes no scans. Go to the Register to sell it"


def unknown_barcode(code: str, case_hint: bool = False) -> str:
    """No barcode and no SKU matched; a code with lower-case letters may be a scanner in
    lower-case mode or Caps Lock (catalog.UnknownBarcode.case_hint)."""
    hint = " — check Caps Lock or the scanner's case setting" if case_hint else ""
    return f"No product has barcode {code} (nor that SKU){hint}"


def not_for_sale(name: str) -> str:
    """A scan of an inactive product: said plainly, so the cashier does not scan it again."""
    return f"{name} is not for sale (inactive). Nothing was added to the sale."


def inactive_product(name: str) -> str:
    """How the catalog list shows a product a manager made inactive."""
    return f"{name} (inactive)"


def printer_failed(printer: str, detail: str) -> str:
    return (f"The receipt did not print on “{printer}”: {detail}. "
            "The sale is saved; reprint it from Today's sales.")


def print_job_name(kind: str, reference: str | None) -> str:
    """'The receipt for GO-000001', 'The payment schedule for GO-000002', 'The test page'."""
    names = {"receipt": "The receipt", "reprint": "The reprinted receipt", "refund": "The refund receipt",
             "schedule": "The payment schedule", "labels": "The shelf labels", "test": "The test page"}
    name = names.get(kind, f"The {kind}")
    return f"{name} for {reference}" if reference and kind not in ("labels", "test") else name


def print_failed(what: str, printer: str, detail: str) -> str:
    """A job that did not print: what it was, which printer, why, and where it waits."""
    what = what or "A print job"
    saved = " The sale is saved." if what.startswith(("The receipt", "The reprinted", "The refund",
                                                        "The payment")) else ""
    if detail == "no printer configured" or not printer:
        return (f"{what} did not print: no printer is set up (add one in Settings › Printers).{saved} "
                "The job waits in the print queue.")
    where = detail if detail.startswith(printer) else f"“{printer}”: {detail}"
    return f"{what} did not print on {where}.{saved} It waits in the print queue: retry it there."


def sale_done(reference: str) -> str:
    return f"Sale {reference} complete"


def order_not_found(reference: str) -> str:
    return f"No order {reference} on this terminal"


def unit_price(price_text: str, by_weight: bool) -> str:
    """A price as the shelf says it: "€2.99/kg" for an item sold by weight (it read
    "€2.99", as if for one)."""
    return f"{price_text}/kg" if by_weight else price_text
