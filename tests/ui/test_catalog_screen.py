"""The catalog screen: search, edit with validation next to the form, price history, CSV, labels."""

from __future__ import annotations

from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from sqlalchemy import func, select

from app.domain.barcode import with_check_digit
from app.services import catalog, catalog_edit
from app.store.models import OutboxOperation, Product
from tests.ui.conftest import settle, sign_in, wedge_burst


def open_catalog(desktop, qtbot):
    sign_in(desktop, qtbot, "1004", "4444")
    desktop.window.show_screen("catalog")
    settle(desktop, qtbot)
    screen = desktop.window.catalog
    assert desktop.window.current_screen is screen
    return screen


def search(desktop, qtbot, screen, text: str) -> None:
    screen.search.setFocus()
    screen.search.setText(text)
    screen.run_search()
    settle(desktop, qtbot)


def product_count(store) -> int:
    with store.db.read() as s:
        return s.scalar(select(func.count()).select_from(Product))


def test_edit_shows_errors_next_to_the_form_and_keeps_price_history(desktop, qtbot, store):
    screen = open_catalog(desktop, qtbot)
    assert screen.editor.currentWidget() is screen.editor.empty
    search(desktop, qtbot, screen, "Harbour")
    assert screen.results.rowCount() > 0
    screen.results.setCurrentCell(0, 0)
    settle(desktop, qtbot)
    pid = screen.editor.details["id"]
    old = catalog.get(store, pid)
    assert screen.editor.fields["name"].text() == old.name
    history = screen.editor.history.count()

    screen.editor.fields["price"].setText("abc")
    QTest.keyClick(screen.editor.fields["price"], Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert screen.editor.error.text().startswith("Price")
    screen.editor.fields["price"].setText("2.49")
    screen.editor.fields["tax"].setText("140")
    screen.editor.save()
    assert "between 0% and 100%" in screen.editor.error.text()
    screen.editor.fields["tax"].setText("23")
    screen.editor.fields["barcodes"].setText("5400000000011")  # wrong check digit: the service says so
    screen.editor.save()
    settle(desktop, qtbot)
    assert "check digit" in screen.editor.error.text().lower()
    assert catalog.get(store, pid).price == old.price  # nothing was saved

    screen.editor.revert()
    settle(desktop, qtbot)
    screen.editor.fields["price"].setText("2.49")
    screen.editor.fields["name"].setText("Harbour Special")
    screen.editor.fields["reorder"].setText("12")
    QTest.keyClick(screen.editor.fields["name"], Qt.Key.Key_Return)
    settle(desktop, qtbot)
    assert screen.editor.error.text() == ""
    now = catalog.get(store, pid)
    assert (now.name, now.price) == ("Harbour Special", 249)
    assert screen.editor.history.count() == history + 1 and "2.49" in screen.editor.history.item(0).text()
    with store.db.read() as s:
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.type == "product.update")).one()
    assert set(op.payload["fields"]) >= {"name", "price", "reorder_level_milli"}
    assert op.payload["fields"]["price"] == {"base": old.price, "value": 249}
    assert "tax_rate_ppm" not in op.payload["fields"]  # only what changed is sent


def test_bad_csv_shows_every_line_and_imports_nothing(desktop, qtbot, store, tmp_path):
    screen = open_catalog(desktop, qtbot)
    before = product_count(store)
    bad = tmp_path / "bad.csv"
    good_code = with_check_digit("590123412345")
    bad.write_text("sku,name,price,tax_rate,barcodes\n"
                   f"N1,Fine Item,1.99,23,{good_code}\n"
                   "N2,Bad Price,abc,23,\n"
                   f"N3,Same Code,2.00,23,{good_code}\n"
                   "N4,Bad Digit,1.00,23,5901234123450\n", encoding="utf-8")
    with qtbot.waitSignal(screen.import_finished, timeout=20_000) as done:
        screen.import_file(bad)
    settle(desktop, qtbot)
    report = done.args[0]
    assert [e.line for e in report.errors] == [3, 4, 5]
    dialog = screen.dialog
    assert dialog.objectName() == "importReport" and dialog.isVisible()
    lines = [dialog.lines.item(i).text() for i in range(dialog.lines.count())]
    assert lines[0].startswith("Line 3: Price") and lines[1].startswith("Line 4: Barcode")
    assert "check digit" in lines[2].lower()
    assert product_count(store) == before and not screen.progress.isVisible()
    dialog.close()

    missing = tmp_path / "missing.csv"
    missing.write_text("sku,name,price\nX,Y,1\n", encoding="utf-8")
    with qtbot.waitSignal(screen.import_finished, timeout=20_000) as done:
        screen.import_file(missing)
    assert "tax_rate" in done.args[0].errors[0].message and product_count(store) == before
    settle(desktop, qtbot)
    screen.dialog.close()


def test_good_csv_imports_with_progress_and_exports(desktop, qtbot, store, tmp_path):
    screen = open_catalog(desktop, qtbot)
    before = product_count(store)
    rows = [f"IMP{i:05d},Imported Thing {i},{i % 50 + 1}.25,23,{with_check_digit(f'20{i:010d}'[:12])}"
            for i in range(1, 1201)]
    rows = [r.replace(r.rsplit(",", 1)[1], with_check_digit(f"77{i:010d}")) for i, r in enumerate(rows, 1)]
    good = tmp_path / "good.csv"
    good.write_text("sku,name,price,tax_rate,barcodes\n" + "\n".join(rows) + "\n", encoding="utf-8")
    seen: list[int] = []
    screen.progress.valueChanged.connect(seen.append)
    with qtbot.waitSignal(screen.import_finished, timeout=60_000) as done:
        screen.import_file(good)
    assert screen.progress.isVisible() or seen  # the bar was fed from the worker
    settle(desktop, qtbot)
    assert done.args[0].ok and done.args[0].created == 1200
    assert seen and max(seen) == 1200 and not screen.progress.isVisible()
    assert product_count(store) == before + 1200
    assert catalog.line_for_scan(store, with_check_digit("770000000007")).name == "Imported Thing 7"
    assert "1200 new" in desktop.window.notice.text

    out = tmp_path / "export.csv"
    screen.export_file(out)
    settle(desktop, qtbot)
    text = out.read_text(encoding="utf-8")
    assert text.startswith("sku,name,price,tax_rate") and text.count("\n") == before + 1201


def test_unknown_scan_opens_quick_add_then_the_editor(desktop, qtbot, store):
    screen = open_catalog(desktop, qtbot)
    code = with_check_digit("871234567890")
    wedge_burst(code)
    settle(desktop, qtbot)
    dialog = screen.dialog
    assert dialog is not None and dialog.isVisible() and dialog.objectName() == "quickAddDialog"
    dialog.name.setText("Sparkling Water 500ml")
    dialog.price.setText("0.95")
    dialog.tax.setCurrentText("13.5%")
    dialog.buttons.accepted.emit()
    settle(desktop, qtbot, 100)
    line = catalog.line_for_scan(store, code)
    assert (line.name, line.unit_price, line.tax_rate_ppm) == ("Sparkling Water 500ml", 95, 135_000)
    assert screen.editor.details["id"] == line.product_id and screen.editor.fields["barcodes"].text() == code
    # a known code opens its product
    wedge_burst("5400000000010")
    settle(desktop, qtbot)
    assert screen.editor.details["id"] == catalog.line_for_scan(store, "5400000000010").product_id


def test_print_labels_for_selected_products_as_pdf(desktop, qtbot, store, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    screen = open_catalog(desktop, qtbot)
    search(desktop, qtbot, screen, "Harbour")
    screen.results.selectAll()
    ids = screen.selected_ids()
    assert len(ids) == screen.results.rowCount() > 1
    target = tmp_path / "labels.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PDF (*.pdf)"))
    QTest.keyClick(screen.search, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = screen.dialog
    assert dialog.isVisible() and dialog.to_pdf.isChecked()  # no label printer set up
    dialog.buttons.accepted.emit()
    settle(desktop, qtbot, 200)
    assert target.exists() and len(PdfReader(target).pages) == 1 + (len(ids) - 1) // 24
    assert catalog_edit.details(store, ids[0])["name"].split()[0] in PdfReader(target).pages[0].extract_text()


def test_a_slow_answer_to_a_query_typed_over_never_replaces_the_newer_one(desktop, qtbot, store, monkeypatch):
    """The search waits for a pause in typing, and a late answer to an older query is dropped."""
    import time

    screen = open_catalog(desktop, qtbot)
    real_search = catalog.search
    events: list[tuple[str, str]] = []

    def search_slowly_for_apples(store_, text, *args, **kwargs):  # on the worker thread
        if text == "apples":
            time.sleep(0.8)  # still running while "sourdough" is typed and searched
        rows = real_search(store_, text, *args, **kwargs)
        events.append(("answered", text))
        return rows

    monkeypatch.setattr(catalog, "search", search_slowly_for_apples)
    ask = screen.live.ask

    def asked(work, answer):  # on the GUI thread, as the screen asks
        events.append(("asked", screen.search.text()))
        ask(work, answer)

    monkeypatch.setattr(screen.live, "ask", asked)
    apples = {r.name for r in real_search(store, "apples", 100, include_inactive=True)}
    sourdough = [r.name for r in real_search(store, "sourdough", 100, include_inactive=True)]
    assert apples and sourdough and not apples & set(sourdough)
    ever_shown: set[str] = set()
    model = screen.results.model()
    model.dataChanged.connect(lambda top, bottom, *_: ever_shown.update(
        model.index(r, 0).data() or "" for r in range(top.row(), bottom.row() + 1)))

    screen.search.setFocus()
    screen.search.setText("apples")
    screen.run_search()
    screen.search.clear()
    QTest.keyClicks(screen.search, "sourdough", Qt.KeyboardModifier.NoModifier, 5)
    qtbot.waitUntil(lambda: ("answered", "sourdough") in events, timeout=10_000)
    settle(desktop, qtbot)

    # one search per pause in typing, none per keystroke; apples was answered after sourdough was asked
    assert [e for e in events if e[0] == "asked"] == [("asked", "apples"), ("asked", "sourdough")]
    assert events.index(("asked", "sourdough")) < events.index(("answered", "apples"))
    shown = [screen.results.item(r, 0).text() for r in range(screen.results.rowCount())]
    assert [name.removesuffix(" (inactive)") for name in shown] == sourdough
    assert not ever_shown & apples  # the late answer never reached the list, not even for a moment
