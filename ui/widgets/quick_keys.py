"""The register's quick keys: 12 big buttons for items with no barcode. A product key adds
the product; a category key shows that category's products as keys (◀ goes back). Who may
edit the catalog turns on *Edit keys* and touches a key to choose what it holds (search a
product and press Enter, or pick a category). The data is app/services/quick_keys.py.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.domain.permissions import Action
from app.services import catalog, quick_keys
from ui.context import AppContext
from ui.dialogs.common import FormDialog

COLUMNS = 4
KEY_HEIGHT = 40  # two lines of 12 px text; with the compact Edit keys, the cart keeps 9 rows at 1024x768
BACK = "◀ Back"
NO_KEYS = "No quick keys yet"
NO_KEYS_EDITOR = "No quick keys yet: Edit keys adds them"
SHOWN_CHARS = 15
KEY_PADDING_PX = 6  # the key's padding and border, both sides


def short(name: str) -> str:
    """A name as it fits on a key."""
    return name if len(name) <= SHOWN_CHARS else name[:SHOWN_CHARS - 1].rstrip() + "…"


class QuickKeys(QWidget):
    """Emits ``product_chosen(product_id)``."""

    product_chosen = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("quickKeys")
        self.editing = False
        self.editor: KeyEditor | None = None
        self.top: list[quick_keys.KeyView] = []
        self.shown: list[tuple[str, str | None]] = []  # per button: (kind, id) as shown now
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.grid_box = QWidget()  # hidden while no key holds anything (the hint says so)
        grid = QGridLayout(self.grid_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(6)
        self.buttons: list[QPushButton] = []
        for pos in range(quick_keys.KEYS):
            b = QPushButton("")
            b.setObjectName(f"quickKey_{pos + 1}")
            b.setMinimumHeight(KEY_HEIGHT)
            b.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # a long name never widens
            b.setStyleSheet("font-size: 12px; padding: 2px 2px;")
            b.clicked.connect(lambda _=False, p=pos: self._pressed(p))
            keep = b.sizePolicy()
            keep.setRetainSizeWhenHidden(True)  # a blank key is hidden, its place kept
            b.setSizePolicy(keep)
            grid.addWidget(b, pos // COLUMNS, pos % COLUMNS)
            self.buttons.append(b)
        for c in range(COLUMNS):
            grid.setColumnStretch(c, 1)
        layout.addWidget(self.grid_box)
        row = QHBoxLayout()
        self.hint = QLabel("")
        self.hint.setObjectName("quickKeysHint")
        self.hint.setStyleSheet("color: #5A6B75; font-size: 14px;")
        row.addWidget(self.hint)
        row.addStretch(1)
        self.edit_button = QPushButton("Edit keys")
        self.edit_button.setObjectName("quickKeysEdit")
        self.edit_button.setCheckable(True)
        self.edit_button.setStyleSheet("font-size: 13px; padding: 3px 12px;")  # a small row under the keys
        self.edit_button.toggled.connect(self._edit_mode)
        row.addWidget(self.edit_button)
        layout.addLayout(row)

    def apply_role(self) -> None:
        self.edit_button.setChecked(False)
        self.edit_button.setVisible(self.ctx.can(Action.CATALOG_EDIT))
        self.reload()

    def reload(self) -> None:
        self.ctx.ops.run(lambda: quick_keys.keys(self.ctx.store), success=self._show_top)

    def _show_top(self, keys: list[quick_keys.KeyView]) -> None:
        self.top = keys
        money = self.ctx.money
        shown = []
        for key, b in zip(keys, self.buttons, strict=True):
            if key.kind == quick_keys.PRODUCT:
                self._label(b, key.label, money(key.price or 0))
            elif key.kind == quick_keys.CATEGORY:
                self._label(b, f"{short(key.label)} ▸")
            else:
                b.setText("+" if self.editing else "")
            b.setEnabled(bool(key.kind) or self.editing)
            b.setVisible(bool(key.kind) or self.editing)  # a blank key read as a broken button
            shown.append((key.kind, key.product_id or key.category_id))
        self.shown = shown
        empty = not any(key.kind for key in keys) and not self.editing
        self.grid_box.setVisible(not empty)  # no keys yet: the cart has the room
        can_edit = self.ctx.can(Action.CATALOG_EDIT)
        self.hint.setText(NO_KEYS_EDITOR if empty and can_edit else NO_KEYS if empty else "")

    def _show_category(self, products: list[catalog.ProductRow]) -> None:
        money = self.ctx.money
        self.shown = [("back", None)] + [(quick_keys.PRODUCT, p.id) for p in products]
        self.buttons[0].setText(BACK)
        self.buttons[0].setEnabled(True)
        self.buttons[0].setVisible(True)
        for b, p in zip(self.buttons[1:], products + [None] * quick_keys.KEYS, strict=False):
            self._label(b, p.name, money(p.price)) if p else b.setText("")
            b.setToolTip(p.name if p else "")
            b.setEnabled(p is not None)
            b.setVisible(p is not None)
        self.shown += [("", None)] * (quick_keys.KEYS - len(self.shown))

    def _label(self, button: QPushButton, name: str, price: str = "") -> None:
        """The key's words, the name cut with "…" to the key's width (a key is narrower
        at 1024 px than 15 characters of 12 px text: the name was clipped at both ends)."""
        button.setProperty("fullName", name)
        button.setProperty("price", price)
        button.setToolTip(name.removesuffix(" ▸"))
        room = max(button.width() - KEY_PADDING_PX, 20)
        shown = button.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, room)
        button.setText(f"{shown}\n{price}" if price else shown)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        for b in self.buttons:
            name = b.property("fullName")
            if name and b.text() not in ("", "+", BACK):
                self._label(b, name, b.property("price") or "")

    def _pressed(self, pos: int) -> None:
        if self.editing:
            self._edit(pos)
            return
        kind, ident = self.shown[pos] if pos < len(self.shown) else ("", None)
        if kind == quick_keys.PRODUCT and ident:
            self.product_chosen.emit(ident)
            if self.shown and self.shown[0][0] == "back":
                self._show_top(self.top)  # one item from a category, then the top keys again
        elif kind == quick_keys.CATEGORY and ident:
            self.ctx.ops.run(lambda: quick_keys.category_products(self.ctx.store, ident),
                             success=self._show_category)
        elif kind == "back":
            self._show_top(self.top)

    # -- editing ---------------------------------------------------------------
    def _edit_mode(self, on: bool) -> None:
        self.editing = on
        self.edit_button.setText("Done" if on else "Edit keys")
        self._show_top(self.top)

    def _edit(self, pos: int) -> None:
        editor = KeyEditor(self.ctx, pos, self)
        self.editor = editor
        editor.accepted.connect(self.reload)
        editor.open()


class KeyEditor(FormDialog):
    """What key ``position`` holds: a product found by name or SKU (Enter takes the first
    result), or a category; or nothing (Clear)."""

    def __init__(self, ctx: AppContext, position: int, parent: QWidget | None = None) -> None:
        super().__init__(f"Quick key {position + 1}", parent, width=520)
        self.setObjectName("quickKeyEditor")
        self.ctx, self.position = ctx, position
        self.found: list[catalog.ProductRow] = []
        self.found_for: str | None = None  # the text the results are for
        self._save_when_found = False  # Enter came before the results for the typed text
        self._timer = QTimer(self, singleShot=True, interval=150)
        self._timer.timeout.connect(self._find)
        self.search = QLineEdit()
        self.search.setObjectName("quickKeySearch")
        self.search.setPlaceholderText("Product name or SKU")
        self.search.textEdited.connect(lambda _t: self._timer.start())
        self.search.returnPressed.connect(self.save_product)
        self.form.addRow("Product", self.search)
        self.results = QListWidget()
        self.results.setObjectName("quickKeyResults")
        self.results.setMaximumHeight(160)
        self.results.itemActivated.connect(lambda _i: self.save_product())
        self.body.addWidget(self.results)
        self.category = QComboBox()
        self.category.setObjectName("quickKeyCategory")
        for cid, name in quick_keys.categories(ctx.store):
            self.category.addItem(name, cid)
        self.save_category_button = QPushButton("Use category")
        self.save_category_button.setObjectName("quickKeyUseCategory")
        self.save_category_button.setAutoDefault(False)
        self.save_category_button.clicked.connect(self.save_category)
        row = QHBoxLayout()
        row.addWidget(self.category, 1)
        row.addWidget(self.save_category_button)
        self.form.addRow("or Category", row)
        self.add_error_line()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        clear = buttons.addButton("Clear key", QDialogButtonBox.ButtonRole.DestructiveRole)
        clear.setObjectName("quickKeyClear")
        clear.setAutoDefault(False)
        clear.clicked.connect(self.clear)
        buttons.rejected.connect(self.reject)
        self.body.addWidget(buttons)

    def _find(self) -> None:
        text = self.search.text()
        self.ctx.ops.run(lambda: catalog.search(self.ctx.store, text, 20), success=lambda r: self._show(text, r))

    def _show(self, text: str, rows: list[catalog.ProductRow]) -> None:
        if text != self.search.text():
            return  # typed on since
        self.found, self.found_for = [r for r in rows if r.active], text
        self.results.clear()
        for r in self.found:
            self.results.addItem(f"{r.name}  ·  {r.sku}  ·  {self.ctx.money(r.price)}")
        if self.found:
            self.results.setCurrentRow(0)
        if self._save_when_found:
            self._save_when_found = False
            self.save_product()

    def _run(self, fn) -> None:  # noqa: ANN001
        def failed(exc: BaseException) -> bool:
            if isinstance(exc, quick_keys.QuickKeyError):
                self.fail(str(exc))
                return True
            return False

        self.ctx.ops.run(fn, success=lambda _r: self.accept(), failure=failed)

    def save_product(self) -> None:
        if self.found_for != self.search.text():  # Enter before the results: save when they come
            self._timer.stop()
            self._save_when_found = True
            self._find()
            return
        row = self.results.currentRow()
        if not 0 <= row < len(self.found):
            self.fail("Find the product first (type part of its name or SKU)")
            return
        pid, actor = self.found[row].id, self.ctx.actor
        self._run(lambda: quick_keys.set_key(self.ctx.store, actor, self.position, product_id=pid))

    def save_category(self) -> None:
        cid, actor = self.category.currentData(), self.ctx.actor
        if cid is None:
            self.fail("The catalog has no categories yet")
            return
        self._run(lambda: quick_keys.set_key(self.ctx.store, actor, self.position, category_id=cid))

    def clear(self) -> None:
        actor = self.ctx.actor
        self._run(lambda: quick_keys.clear_key(self.ctx.store, actor, self.position))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.activateWindow()
        self.search.setFocus()
