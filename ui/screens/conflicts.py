"""Sync conflicts for managers: both sides of each open conflict and how to settle it.

Read from and resolved through ``sync.conflicts`` (open_conflicts, resolve). A
resolution is a normal mutation: its ``conflict.resolve`` operation syncs, the
server applies the chosen values and the result comes back to every terminal.

Each row names what it is about (a product's name and SKU, an order's reference:
app.services.conflict_names) and which till made the edit that conflicted: the
server's record says what "the terminal" wanted, and that terminal is often another
till, so the column never claims it was this one. Money fields read as money.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QStackedWidget, QVBoxLayout, QWidget

from app.domain.words import count_of
from app.services import conflict_names
from app.services.changes import Changes
from sync import conflicts
from ui.context import AppContext
from ui.dialogs.common import show_flow_error
from ui.screens.order_detail import fill, small_button, table
from ui.screens.order_detail_format import when
from ui.screens.table_fit import fit_to_width
from ui.widgets.common import EmptyState, heading

RESOLVED = Changes(conflicts=True, outbox=True, orders=True, catalog=True)


#: fields whose values are money in minor units
MONEY_FIELDS = frozenset({"price", "total", "unit_price", "amount", "list_price", "paid", "refunded",
                          "discount", "subtotal", "tax"})


def value_text(field: str, value: Any, money: Callable[[int], str] | None = None) -> str:
    """One field's value as a person reads it: money as money, a customer by name, lines counted."""
    if value is None:
        return "(none)"
    if money is not None and field in MONEY_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return money(value)
    if field == "customer" and isinstance(value, dict):
        return ", ".join(str(v) for k, v in value.items() if k in ("name", "phone") and v) or "(no details)"
    if isinstance(value, list):
        return count_of(len(value), "line" if field == "lines" else "item")
    return value if isinstance(value, str) else json.dumps(value, default=str)


def side_text(values: dict[str, Any] | None, money: Callable[[int], str] | None = None) -> str:
    if not values:
        return "(not known yet)"
    return "; ".join(f"{k}: {value_text(k, v, money)}" for k, v in values.items())


def edit_text(values: dict[str, Any] | None, ours: bool, money: Callable[[int], str] | None = None) -> str:
    """The conflicting edit's side, saying which till made it."""
    return f"{'This till' if ours else 'Another till'}: {side_text(values, money)}"


class ConflictsScreen(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("conflictsScreen")
        self.items: list[conflicts.ConflictView] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.setSpacing(12)
        layout.addWidget(heading("Sync conflicts", "title"))
        hint = heading("Two tills changed the same thing differently. Choose which value stays; "
                       "the choice syncs to every till.", "subtle")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.count = heading("", "subtle")
        self.count.setObjectName("conflictsCount")
        layout.addWidget(self.count)
        self.table = table("conflictsTable", ["When", "What", "Conflict", "The edit wanted", "Server has"],
                           stretch=2)
        self.table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        fit_to_width(self.table, (1, 2, 3, 4))  # every column on screen at 1024 px, wrapped
        self.table.itemSelectionChanged.connect(self._enable)
        self.stack = QStackedWidget()
        self.stack.addWidget(EmptyState("receipt", "No open conflicts"))
        self.stack.addWidget(self.table)
        layout.addWidget(self.stack, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.keep_server = small_button("Keep the server's value", "keepServer", "primary")
        self.keep_terminal = small_button("Use the edit's value", "keepTerminal")
        self.keep_server.clicked.connect(lambda: self.resolve("server"))
        self.keep_terminal.clicked.connect(lambda: self.resolve("terminal"))
        for b in (self.keep_server, self.keep_terminal):
            b.setMinimumHeight(52)
            row.addWidget(b)
        layout.addLayout(row)
        ctx.ops.changed.connect(self._on_changes)
        self._enable()

    def _on_changes(self, changes: Changes) -> None:
        if changes.conflicts and self.isVisible():
            self.reload()

    def reload(self) -> None:
        store = self.ctx.store

        def read() -> tuple[list[conflicts.ConflictView], list[conflict_names.ConflictSubject]]:
            items = conflicts.open_conflicts(store)
            return items, conflict_names.describe(store, [(c.entity_type, c.entity_id, c.op_id) for c in items])

        self.ctx.ops.run(read, success=lambda result: self._show(*result))

    def _show(self, items: list[conflicts.ConflictView],
              subjects: list[conflict_names.ConflictSubject] | None = None) -> None:
        self.items = items
        subjects = subjects or [conflict_names.ConflictSubject(f"{c.entity_type} {c.entity_id[-8:]}", False)
                                for c in items]
        money = self.ctx.money
        fill(self.table, [(when(c.created_at), subject.what, c.description,
                           edit_text(c.local_value, subject.ours, money), side_text(c.server_value, money))
                          for c, subject in zip(items, subjects, strict=True)])
        self.count.setText(count_of(len(items), "open conflict") if items else "")
        self.table.setMinimumHeight(0)
        self.table.setMaximumHeight(16_777_215)
        self.stack.setCurrentIndex(1 if items else 0)
        if items:
            self.table.selectRow(0)
        self._enable()

    @property
    def current(self) -> conflicts.ConflictView | None:
        rows = self.table.selectionModel().selectedRows()
        return self.items[rows[0].row()] if rows and rows[0].row() < len(self.items) else None

    def _enable(self) -> None:
        c = self.current
        self.keep_server.setEnabled(c is not None)
        self.keep_terminal.setEnabled(c is not None and c.kind not in conflicts.SERVER_ONLY_KINDS
                                      and bool(c.local_value))

    def resolve(self, choice: str) -> None:
        c, actor = self.current, self.ctx.actor
        if c is None:
            return
        self.ctx.ops.run(lambda: conflicts.resolve(self.ctx.store, actor, c.id, choice), changes=RESOLVED,
                         success=lambda _r: self.ctx.info("Conflict resolved; it syncs to the other tills"),
                         failure=show_flow_error(self.ctx.error))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.reload()
