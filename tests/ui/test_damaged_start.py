"""The desktop says why it cannot start (a damaged or missing database) in a window."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from app.store.local import DB_FILE, open_store


def _start_errors() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.objectName() == "startError" and w.isVisible()]


def test_a_damaged_database_is_shown_in_a_window_not_a_traceback(qapp, qtbot, tmp_path: Path,
                                                                 capsys) -> None:
    from ui.cli import main

    data = tmp_path / "till"
    open_store(data, passphrase="x").close()
    db = data / DB_FILE
    with db.open("r+b") as fh:
        fh.write(os.urandom(4096))  # the first page: not a database any more
    assert main(["--data-dir", str(data), "run", "--smoke"]) == 2
    (box,) = _start_errors()
    assert box.windowTitle() == "Tillsync cannot start"
    assert box.text().startswith(f"The till's database {db} is damaged (file is not a database)")
    assert "When the database is damaged" in box.text()
    assert "Traceback" not in capsys.readouterr().err
    box.close()
    box.deleteLater()
