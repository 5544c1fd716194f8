"""Dialogs of the stock screens: quick-add of an unknown barcode, the import report, labels."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.domain.money import MoneyError, parse
from app.services import catalog_edit
from app.services.catalog_csv import ImportReport
from app.services.changes import Changes
from ui.context import AppContext
from ui.screens.register_dialogs import _FormDialog
from ui.widgets.common import heading


def percent_text(ppm: int) -> str:
    return f"{Decimal(ppm) / 10_000:g}"


def parse_percent(text: str) -> int:
    """"23" or "13.5%" as parts per million of the price; raises ValueError."""
    try:
        value = Decimal(text.strip().rstrip("%").strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"Tax “{text.strip()}” is not a percentage") from None
    if not 0 <= value <= 100:
        raise ValueError("Tax must be between 0% and 100%")
    return int(value * 10_000)


class QuickAddProductDialog(_FormDialog):
    """Add the product an unknown barcode belongs to: name, price, tax, SKU (the code by default)."""

    def __init__(self, code: str, currency: str, tax_rates: list[int], parent: QWidget | None = None) -> None:
        super().__init__("New product", parent)
        self.setObjectName("quickAddDialog")
        self.code, self.currency = code, currency
        self.form.addRow("Barcode", QLabel(code))
        self.name = QLineEdit()
        self.name.setObjectName("quickName")
        self.price = QLineEdit()
        self.price.setObjectName("quickPrice")
        self.price.setPlaceholderText("0.00")
        self.tax = QComboBox()
        self.tax.setObjectName("quickTax")
        self.tax.setEditable(True)
        for ppm in tax_rates or [0]:
            self.tax.addItem(f"{percent_text(ppm)}%")
        self.sku = QLineEdit(code)
        self.sku.setObjectName("quickSku")
        self.category = QLineEdit()
        for label, widget in (("Name", self.name), ("Price", self.price), ("Tax", self.tax),
                              ("SKU", self.sku), ("Category", self.category)):
            self.form.addRow(label, widget)
        self.product: catalog_edit.NewProduct | None = None

    def validate(self) -> None:
        name = self.name.text().strip()
        if not name:
            raise ValueError("Give the product a name")
        try:
            price = parse(self.price.text(), self.currency)
        except MoneyError as exc:
            raise ValueError(str(exc)) from exc
        if price < 0:
            raise ValueError("The price cannot be negative")
        sku = self.sku.text().strip()
        if not sku:
            raise ValueError("Give the product a SKU")
        self.product = catalog_edit.NewProduct(sku, name, price, parse_percent(self.tax.currentText()),
                                               (self.code,), self.category.text().strip() or None)


def refocus_after(dialog: QDialog, parent: QWidget) -> None:
    """When ``dialog`` closes, keys go back to the screen's scan/search field."""

    def back(_result: int = 0) -> None:
        parent.window().activateWindow()
        focus = getattr(parent, "focus_scan", None) or getattr(parent, "focus_search", None)
        if focus is not None:
            focus()

    dialog.finished.connect(back)


def offer_quick_add(ctx: AppContext, parent: QWidget, code: str, on_added) -> QuickAddProductDialog:
    """Open the quick-add form for ``code``; ``on_added(product_id)`` once the product is saved."""
    dialog = QuickAddProductDialog(code, ctx.currency, [], parent)
    ctx.ops.run(lambda: catalog_edit.common_tax_rates(ctx.store), success=lambda rates: _fill_rates(dialog, rates))

    def save() -> None:
        new, actor = dialog.product, ctx.actor
        ctx.ops.run(lambda: catalog_edit.quick_add(ctx.store, actor, new),
                    changes=Changes(catalog=True, outbox=True), success=on_added,
                    failure=lambda exc: _failed(ctx, exc))

    dialog.accepted.connect(save)
    refocus_after(dialog, parent)
    dialog.open()
    return dialog


def _fill_rates(dialog: QuickAddProductDialog, rates: list[int]) -> None:
    if rates:
        dialog.tax.clear()
        for ppm in rates:
            dialog.tax.addItem(f"{percent_text(ppm)}%")


def _failed(ctx: AppContext, exc: BaseException) -> bool:
    if isinstance(exc, ValueError):  # CatalogError, BarcodeError: written for people
        ctx.error(str(exc))
        return True
    return False


class ImportReportDialog(QDialog):
    """Why a CSV file was not imported: every bad line with its reason."""

    def __init__(self, source: str, report: ImportReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importReport")
        self.setWindowTitle("Catalog import")
        self.setMinimumSize(640, 420)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Nothing was imported", "dialogTitle"))
        bad = len(report.errors)
        summary = QLabel(f"{Path(source).name}: {bad} problem{'s' if bad != 1 else ''} in "
                         f"{report.rows} row{'s' if report.rows != 1 else ''}. "
                         "Fix these lines and import the file again; the catalog is unchanged.")
        summary.setWordWrap(True)
        summary.setProperty("role", "subtle")
        layout.addWidget(summary)
        self.lines = QListWidget()
        self.lines.setObjectName("importErrors")
        for error in report.errors:
            self.lines.addItem(f"Line {error.line}: {error.message}" if error.line else error.message)
        layout.addWidget(self.lines, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class LabelsDialog(_FormDialog):
    """How to print shelf labels: on the label printer (ESC/POS) or as an A4 PDF sheet."""

    def __init__(self, count: int, has_printer: bool, parent: QWidget | None = None) -> None:
        super().__init__(f"Shelf labels for {count} product{'s' if count != 1 else ''}", parent)
        self.setObjectName("labelsDialog")
        self.copies = QSpinBox()
        self.copies.setRange(1, 100)
        self.form.addRow("Copies of each", self.copies)
        self.to_printer = QRadioButton("Label printer (ESC/POS)")
        self.to_pdf = QRadioButton("PDF sheet (A4, 3 × 8 labels)")
        group = QButtonGroup(self)
        for b in (self.to_printer, self.to_pdf):
            group.addButton(b)
            self.form.addRow(b)
        self.to_printer.setEnabled(has_printer)
        (self.to_printer if has_printer else self.to_pdf).setChecked(True)


def print_labels(ctx: AppContext, parent: QWidget, product_ids: list[str]) -> LabelsDialog | None:
    """Ask how, then queue ESC/POS labels or write a PDF sheet; never blocks the GUI."""
    if not product_ids:
        ctx.warn("Select the products to print labels for")
        return None
    service = ctx.printing
    if service is None:
        ctx.warn("Printing is not available on this terminal")
        return None
    dialog = LabelsDialog(len(product_ids), bool(service.printers()), parent)

    def go() -> None:
        copies = dialog.copies.value()
        if dialog.to_printer.isChecked():
            def queue_and_send():
                job = service.enqueue_labels(product_ids, copies=copies)
                return job, service.process_pending()
            ctx.ops.run(queue_and_send, lane="device", success=lambda r: _label_outcome(ctx, r))
            return
        path, _ = QFileDialog.getSaveFileName(parent, "Save labels", str(Path.home() / "shelf-labels.pdf"),
                                              "PDF (*.pdf)")
        if path:
            ctx.ops.run(lambda: service.labels_pdf(product_ids, Path(path), copies), lane="device",
                        success=lambda p: ctx.info(f"Labels saved to {p}"))

    dialog.accepted.connect(go)
    refocus_after(dialog, parent)
    dialog.open()
    return dialog


def _label_outcome(ctx: AppContext, result) -> None:
    job, outcomes = result
    failed = [o for o in outcomes if o.job_id == job and not o.ok]
    if failed:
        ctx.error(f"The labels did not print: {failed[0].error}. The job is kept in the print queue.")
    else:
        ctx.info("Labels sent to the printer")
