"""The receipt as a format-neutral document, read from a committed order.

Every output (ESC/POS bytes, the 80 mm PDF, the A4 invoice, the on-screen
preview) renders the same :class:`ReceiptDocument`, so what the customer is
handed, what is e-mailed and what the cashier sees never disagree. Amounts are
already formatted in the store's currency and locale here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from app.domain.barcode import parse_variable
from app.domain.money import format_money
from app.domain.totals import Discount, DiscountError
from app.services.customers import decrypt
from app.services.journal import receipt_qr_of
from app.store.local import LocalStore
from app.store.models import Order, OrderLine, Product, Staff, StoreSettings

KINDS = ("receipt", "refund", "reprint", "exchange")
METHOD_NAMES = {"cash": "Cash", "card": "Card", "other": "Other"}


class ReceiptError(LookupError):
    """A receipt that cannot be built (the order is not in this store)."""


@dataclass(frozen=True)
class StoreHeader:
    name: str
    address_lines: tuple[str, ...]
    tax_id: str


@dataclass(frozen=True)
class ReceiptLine:
    """One sold item as the customer reads it; amounts are display text."""

    name: str
    quantity: str  # "2 x €1.29" or "0.532 kg @ €2.99/kg"
    qty: str  # "2" or "0.532 kg"
    unit_price: str  # "€1.29" or "€2.99/kg"
    line_total: str  # after the line discount, before the order discount
    discount: str | None  # "-€0.26 (10%)" when the line had a discount
    single: bool  # one piece at its price: the quantity line is left out


@dataclass(frozen=True)
class TaxRow:
    rate: str  # "23%"
    net: str  # amount without tax
    tax: str
    gross: str


@dataclass(frozen=True)
class TenderRow:
    method: str  # "Cash", "Card", "Refund (Cash)"
    amount: str
    tendered: str | None  # shown when cash was over-tendered
    change: str | None


@dataclass(frozen=True)
class ReceiptDocument:
    store: StoreHeader
    reference: str
    created_at: datetime  # local time of the terminal
    cashier: str
    lines: tuple[ReceiptLine, ...]
    order_discount: str | None
    taxes: tuple[TaxRow, ...]
    tax_inclusive: bool
    subtotal: str
    discount: str | None
    tax: str
    total: str
    tenders: tuple[TenderRow, ...]
    balance_due: str | None
    customer_name: str | None
    footer: str
    kind: str = "receipt"
    had_cash: bool = False
    #: the QR text TS1:<reference>:<code> checkable against the journal (docs/journal.md);
    #: None for an order this till did not record
    journal_qr: str | None = None
    #: who approved it when not the cashier (a refund a manager allowed by PIN)
    approved_by: str | None = None
    #: lines printed under the total, saying why it is what it is (a capped refund)
    notes: tuple[str, ...] = ()

    @property
    def date_text(self) -> str:
        return self.created_at.strftime("%d/%m/%Y %H:%M")

    @property
    def title(self) -> str:
        """The copy marker printed above the lines ("" for an ordinary receipt)."""
        return {"refund": "REFUND", "reprint": "COPY - REPRINT", "exchange": "EXCHANGE"}.get(self.kind, "")


def rate_text(rate_ppm: int) -> str:
    """23% from 230000 ppm; 13.5% from 135000."""
    whole, frac = divmod(rate_ppm, 10_000)
    if not frac:
        return f"{whole}%"
    return f"{whole}.{frac:04d}".rstrip("0") + "%"


def qty_text(qty_milli: int) -> str:
    """3 from 3000, 0.532 from 532: weights keep their three decimals."""
    whole, frac = divmod(qty_milli, 1000)
    return f"{whole}" if not frac else f"{whole}.{frac:03d}"


def local_time(at: datetime) -> datetime:
    """SQLite hands back naive UTC; receipts show the terminal's wall clock."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone()


def _is_weighed(li: OrderLine, product: Product | None) -> bool:
    variable = parse_variable(li.barcode) if li.barcode and li.barcode.isdigit() else None
    if variable is not None:
        return variable.grams is not None
    return bool(product and product.sold_by_weight) or li.qty_milli % 1000 != 0


def _line_discount(li: OrderLine) -> int:
    try:
        return Discount(li.discount_percent_ppm, li.discount_amount).off(li.gross)
    except DiscountError:  # a snapshot the rules no longer accept; show what was stored
        return li.discount_amount


class _Fmt:
    """Money display in the order's currency and the store's locale."""

    def __init__(self, currency: str, locale: str) -> None:
        self.currency, self.locale = currency, locale

    def __call__(self, minor: int) -> str:
        return format_money(minor, self.currency, self.locale).replace("\u00a0", " ")


def _receipt_line(s: Session, li: OrderLine, fmt: _Fmt) -> tuple[ReceiptLine, int]:
    product = s.get(Product, li.product_id) if li.product_id else None
    off = _line_discount(li)
    weighed = _is_weighed(li, product)
    if weighed:
        qty = f"{qty_text(li.qty_milli)} kg @ {fmt(li.unit_price)}/kg"
    else:
        qty = f"{qty_text(li.qty_milli)} x {fmt(li.unit_price)}"
    discount = None
    if off:
        pct = f" ({rate_text(li.discount_percent_ppm)})" if li.discount_percent_ppm else ""
        discount = f"-{fmt(off)}{pct}"
    single = li.qty_milli == 1000 and not weighed
    count = f"{qty_text(li.qty_milli)} kg" if weighed else qty_text(li.qty_milli)
    unit = f"{fmt(li.unit_price)}/kg" if weighed else fmt(li.unit_price)
    line = ReceiptLine(li.name, qty, count, unit, fmt(li.gross - off), discount, single)
    return line, off


def _taxes(order: Order, fmt: _Fmt) -> tuple[TaxRow, ...]:
    by_rate: dict[int, list[int]] = {}
    for li in order.lines:
        net, tax = by_rate.setdefault(li.tax_rate_ppm, [0, 0])
        by_rate[li.tax_rate_ppm] = [net + li.net, tax + li.tax]
    rows = []
    for rate, (net, tax) in sorted(by_rate.items()):
        ex_tax = net - tax if order.tax_inclusive else net
        rows.append(TaxRow(rate_text(rate), fmt(ex_tax), fmt(tax), fmt(ex_tax + tax)))
    return tuple(rows)


def _tenders(order: Order, fmt: _Fmt) -> tuple[TenderRow, ...]:
    rows = []
    for p in order.payments:
        name = METHOD_NAMES.get(p.method, p.method.title())
        if p.amount < 0:
            name = f"Refund ({name})"
        over = p.change > 0
        rows.append(TenderRow(name, fmt(p.amount), fmt(p.tendered) if over else None,
                              fmt(p.change) if over else None))
    return tuple(rows)


def _header(settings: StoreSettings) -> StoreHeader:
    lines = tuple(x.strip() for x in (settings.address or "").splitlines() if x.strip())
    return StoreHeader(settings.name, lines, settings.tax_id or "")


def _cashier(s: Session, staff_id: str) -> str:
    person = s.get(Staff, staff_id)
    return person.name if person else ""


def build_receipt(store: LocalStore, order_id: str, *, copy: bool = False) -> ReceiptDocument:
    """Read the committed order ``order_id`` into a receipt; ``copy`` marks a reprint."""
    settings = store.settings()
    with store.db.read() as s:
        order = s.get(Order, order_id)
        if order is None:
            raise ReceiptError(f"Order {order_id} is not in this store")
        fmt = _Fmt(order.currency, settings.locale)
        built = [_receipt_line(s, li, fmt) for li in order.lines]
        line_off = sum(off for _, off in built)
        order_off = order.discount - line_off
        customer = decrypt(store.cipher, order.customer).name if order.customer else None
        kind = "reprint" if copy else ("refund" if order.status == "refunded" else "receipt")
        return ReceiptDocument(
            store=_header(settings), reference=order.reference,
            created_at=local_time(order.created_at), cashier=_cashier(s, order.created_by),
            lines=tuple(line for line, _ in built),
            order_discount=f"-{fmt(order_off)}" if order_off else None,
            taxes=_taxes(order, fmt), tax_inclusive=order.tax_inclusive,
            subtotal=fmt(order.subtotal), discount=f"-{fmt(order.discount)}" if order.discount else None,
            tax=fmt(order.tax), total=fmt(order.total), tenders=_tenders(order, fmt),
            balance_due=fmt(order.balance) if order.status == "pending" and order.balance > 0 else None,
            customer_name=customer, footer=settings.receipt_footer or "", kind=kind,
            had_cash=any(p.method == "cash" for p in order.payments),
            journal_qr=receipt_qr_of(s, order.id),
        )
