"""Issue 21 (quick keys item): a browsable product list in Catalog without typing a search:
every product A to Z, a page at a time as the list is scrolled or walked with the keys,
filtered by category, opening the editor; by keyboard (Shift included) and by mouse."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from sqlalchemy import func, select

from app.services import catalog_browse
from app.store.models import Product
from tests.ui.conftest import settle, sign_in
from tests.ui.keys import press, type_text


def _ids(table) -> list[str]:
    return [table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in range(table.rowCount())]


def test_paging_covers_every_product_once_in_order(store):
    with store.db.read() as s:
        total = s.scalar(select(func.count()).select_from(Product))
    seen, after, pages = [], None, 0
    while True:
        page = catalog_browse.browse(store, after=after, limit=37)
        seen += page.rows
        pages += 1
        if not page.more:
            break
        after = page.after
    assert len(seen) == total and len({r.id for r in seen}) == total
    assert [(r.name, r.id) for r in seen] == sorted((r.name, r.id) for r in seen)
    cats = catalog_browse.categories(store)
    assert sum(c.products for c in cats) == total
    one = cats[0]
    rows = catalog_browse.browse(store, one.id, limit=1000).rows
    assert len(rows) == one.products


def test_the_catalog_lists_products_with_nothing_typed(desktop, qtbot, store):
    sign_in(desktop, qtbot, "1002", "222222")
    window = desktop.window
    window.show_screen("catalog")
    screen = window.catalog
    settle(desktop, qtbot)
    table = screen.results
    qtbot.waitUntil(lambda: table.rowCount() == catalog_browse.PAGE, timeout=3000)
    first = catalog_browse.browse(store)
    assert _ids(table) == [r.id for r in first.rows]
    assert screen.list_stack.currentWidget() is table
    assert screen.browse_info.text() == f"{catalog_browse.PAGE}+ products"

    # the keyboard: Down walks the list and opens each product in the editor
    table.setFocus()  # the list takes the keys at its first row, and opens it
    qtbot.waitUntil(lambda: (screen.details or {}).get("id") == first.rows[0].id, timeout=3000)
    press(table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: (screen.details or {}).get("id") == first.rows[1].id, timeout=3000)
    press(table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: (screen.details or {}).get("id") == first.rows[2].id, timeout=3000)
    # to the end of the page: the next page comes, nothing twice, still A to Z
    press(table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    settle(desktop, qtbot)
    qtbot.waitUntil(lambda: table.rowCount() > catalog_browse.PAGE, timeout=3000)
    ids = _ids(table)
    assert len(ids) == len(set(ids))
    second = catalog_browse.browse(store, after=first.after)
    assert ids[catalog_browse.PAGE:] == [r.id for r in second.rows]

    # the mouse: a click on a row opens it
    row = 5
    table.scrollToTop()
    settle(desktop, qtbot)
    rect = table.visualRect(table.model().index(row, 0))
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, rect.center())
    qtbot.waitUntil(lambda: (screen.details or {}).get("id") == ids[row], timeout=3000)

    # a category, chosen with the keys: only its products
    qtbot.waitUntil(lambda: screen.category.count() > 1, timeout=3000)
    screen.category.setFocus()
    press(screen.category, Qt.Key.Key_Down)
    settle(desktop, qtbot)
    chosen = screen.category.currentData()
    assert chosen is not None
    expected = catalog_browse.browse(store, chosen, limit=catalog_browse.PAGE).rows
    qtbot.waitUntil(lambda: _ids(table) == [r.id for r in expected], timeout=3000)
    assert screen.browse_info.text().startswith(f"{len(expected)} product")

    # a search typed with Shift for its capital, then cleared: the browsable list again
    screen.search.setFocus()
    type_text(screen.search, "Atlantic")
    settle(desktop, qtbot, 400)
    qtbot.waitUntil(lambda: table.rowCount() > 0 and all("Atlantic" in table.item(r, 0).text()
                                                         for r in range(table.rowCount())), timeout=3000)
    assert screen.browse_info.text() == ""
    press(screen.search, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    press(screen.search, Qt.Key.Key_Backspace)
    settle(desktop, qtbot, 400)
    qtbot.waitUntil(lambda: _ids(table) == [r.id for r in expected], timeout=3000)
