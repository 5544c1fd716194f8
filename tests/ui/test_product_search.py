"""The shared scan-and-search field (ui/widgets/product_search.py) on its own, over a real store."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.services import catalog, catalog_edit, staff
from tests.ui.conftest import barcodes
from ui.context import AppContext
from ui.ops import Ops
from ui.widgets.product_search import SEPARATOR, ProductSearch


@pytest.fixture
def ctx(qapp, store):
    context = AppContext(store, Ops())
    yield context
    context.ops.wait_idle()


def make(ctx, qtbot, **options) -> tuple[ProductSearch, dict[str, list]]:
    """A shown search field and what it emitted, by signal."""
    widget = ProductSearch(ctx, "Scan or search…", **options)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    qtbot.waitUntil(widget.isActiveWindow)
    heard: dict[str, list] = {"code": [], "chosen": [], "empty": []}
    widget.code_entered.connect(heard["code"].append)
    widget.product_chosen.connect(heard["chosen"].append)
    widget.empty_entered.connect(lambda: heard["empty"].append(True))
    return widget, heard


def search(ctx, widget: ProductSearch, text: str) -> None:
    widget.field.setText(text)
    widget.run_search()
    ctx.ops.wait_idle()


def shown(widget: ProductSearch) -> list[str]:
    return [widget.results.item(r).text() for r in range(widget.results.count())]


def test_enter_tells_a_code_a_search_and_nothing_apart(ctx, qtbot):
    widget, heard = make(ctx, qtbot)
    QTest.keyClick(widget.field, Qt.Key.Key_Return)
    assert heard == {"code": [], "chosen": [], "empty": [True]}
    widget.field.setText("40012345")
    QTest.keyClick(widget.field, Qt.Key.Key_Return)
    assert heard["code"] == ["40012345"] and widget.field.text() == ""
    widget.field.setText("chocolate bar light")  # no results yet: Enter searches and takes the first
    QTest.keyClick(widget.field, Qt.Key.Key_Return)
    ctx.ops.wait_idle()
    assert [row.name for row in heard["chosen"]] == ["Blue Hill Chocolate Bar Light"]
    assert widget.field.text() == "" and not widget.results.isVisible()


def test_what_counts_as_a_code_is_the_screens_choice(ctx, qtbot):
    widget, heard = make(ctx, qtbot, is_code=lambda text: text.startswith("GO-"))
    widget.field.setText("GO-AB12CD")
    QTest.keyClick(widget.field, Qt.Key.Key_Return)
    widget.field.setText("40012345")  # not a code here, and digits are not searched
    QTest.keyClick(widget.field, Qt.Key.Key_Return)
    ctx.ops.wait_idle()
    assert heard["code"] == ["GO-AB12CD"] and heard["chosen"] == []


def test_an_answer_to_a_query_typed_over_is_dropped(ctx, qtbot):
    widget, _ = make(ctx, qtbot)
    widget.field.setText("choc")
    widget.run_search()
    widget.field.setText("milk")
    widget.run_search()  # the chocolate answer lands first, and is dropped
    ctx.ops.wait_idle()
    assert [t.split(SEPARATOR)[0] for t in shown(widget)] == [r.name for r in catalog.search(ctx.store, "milk", 20)]
    widget.field.setText("tea")
    widget.run_search()
    widget.clear()  # Esc before the answer came: it never shows
    ctx.ops.wait_idle()
    assert shown(widget) == [] and not widget.results.isVisible()


def test_limit_and_prices_are_options(ctx, qtbot):
    plain, _ = make(ctx, qtbot)
    priced, _ = make(ctx, qtbot, limit=5, show_price=True)
    search(ctx, plain, "harbour")
    search(ctx, priced, "harbour")
    assert plain.results.count() == 20 and priced.results.count() == 5
    first = catalog.search(ctx.store, "harbour", 5)[0]
    assert shown(plain)[0] == f"{first.name}{SEPARATOR}{first.sku}"
    assert shown(priced)[0] == f"{first.name}{SEPARATOR}{first.sku}{SEPARATOR}{ctx.money(first.price)}"


def test_down_arrow_moves_into_the_results(ctx, qtbot):
    widget, _ = make(ctx, qtbot)
    widget.field.setFocus()
    QTest.keyClick(widget.field, Qt.Key.Key_Down)  # nothing to move into
    assert widget.field.hasFocus()
    search(ctx, widget, "milk")
    QTest.keyClick(widget.field, Qt.Key.Key_Down)
    assert widget.results.hasFocus() and widget.results.currentRow() == 0


def test_inactive_products_only_where_asked_and_marked(ctx, qtbot, store):
    (code, name), = barcodes(store, 1)
    pid = catalog.line_for_scan(store, code).product_id
    catalog_edit.update_product(store, staff.sign_in(store, "1002", "222222"), pid, {"active": False})
    till, _ = make(ctx, qtbot)
    stock, heard = make(ctx, qtbot, include_inactive=True)
    search(ctx, till, name)
    search(ctx, stock, name)
    assert not any(t.startswith(name) for t in shown(till))
    marked = [t for t in shown(stock) if t.startswith(f"{name} (inactive){SEPARATOR}")]
    assert len(marked) == 1
    row = next(r for r in range(stock.results.count()) if stock.results.item(r).text() == marked[0])
    stock.results.setCurrentRow(row)
    QTest.keyClick(stock.field, Qt.Key.Key_Return)
    assert [(r.id, r.active) for r in heard["chosen"]] == [(pid, False)]


def test_enter_never_takes_a_result_of_text_since_changed(ctx, qtbot):
    widget, heard = make(ctx, qtbot)
    search(ctx, widget, "choc")
    assert widget.results.isVisible()
    for _ in range(3):
        QTest.keyClick(widget.field, Qt.Key.Key_Backspace)  # "c": too short to search
    widget.run_search()  # the pause in typing
    QTest.keyClick(widget.field, Qt.Key.Key_Return)
    ctx.ops.wait_idle()
    assert heard["chosen"] == [] and not widget.results.isVisible()
    search(ctx, widget, "choc")
    widget.field.setText("milk")  # typed fast: Enter comes before the pause in typing
    QTest.keyClick(widget.field, Qt.Key.Key_Return)
    ctx.ops.wait_idle()
    assert [row.name for row in heard["chosen"]] == [catalog.search(ctx.store, "milk", 1)[0].name]


def test_the_results_list_is_as_tall_as_its_rows_up_to_six(ctx, qtbot):
    widget, _heard = make(ctx, qtbot)
    search(ctx, widget, "chocolate bar light")
    qtbot.waitUntil(lambda: widget.results.count() == 1)
    one = widget.results.height()
    assert one < 2 * widget.results.sizeHintForRow(0) + 12  # no empty box under one hit
    search(ctx, widget, "sku")
    qtbot.waitUntil(lambda: widget.results.count() > 6)
    assert widget.results.height() < 7 * widget.results.sizeHintForRow(0)  # then it scrolls
    assert widget.results.height() > 5 * widget.results.sizeHintForRow(0)
