"""A hostile catalog file at the catalog screen: line-level words, never the crash dialog."""

from __future__ import annotations

from tests.ui.conftest import settle
from tests.ui.test_catalog_screen import open_catalog, product_count


def test_a_hostile_csv_file_is_reported_line_by_line(desktop, qtbot, store, tmp_path):
    screen = open_catalog(desktop, qtbot)
    crashes: list[str] = []
    desktop.ops.crashed.connect(crashes.append)
    before = product_count(store)
    hostile = tmp_path / "hostile.csv"
    hostile.write_bytes(b"sku,name,price,tax_rate\n"
                        b"H1,Fine,1.00,23\n"
                        b"H2,Caf\xe9 latin-1,1.00,23\n"
                        b"H3,Half \xed\xa0\xbd,1.00,23\n")
    with qtbot.waitSignal(screen.import_finished, timeout=20_000) as done:
        screen.import_file(hostile)
    settle(desktop, qtbot)
    assert [e.line for e in done.args[0].errors] == [3, 4]
    lines = [screen.dialog.lines.item(i).text() for i in range(screen.dialog.lines.count())]
    assert lines[0].startswith("Line 3: Not UTF-8 text (byte 0xE9")
    assert lines[1].startswith("Line 4: Not UTF-8 text (a lone surrogate (U+D83D)")
    screen.dialog.close()

    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"sku,name,price,tax_rate\nB1," + b"x" * (20 * 1024 * 1024) + b",1.00,23\n"
                     + b"B2,Tea\x1bp0,1.00,23\n")
    with qtbot.waitSignal(screen.import_finished, timeout=60_000) as done:
        screen.import_file(huge)
    settle(desktop, qtbot)
    assert [str(e) for e in done.args[0].errors] == [
        "line 2: A field is longer than 131,072 characters; no product field is that long "
        "(is this the right file?)",
        "line 3: Name contains a control character (U+001B); remove it"]
    assert screen.dialog.objectName() == "importReport" and screen.dialog.isVisible()
    screen.dialog.close()
    assert crashes == [] and product_count(store) == before
