"""Every order of the store, across days and tills: filters, a model that fetches pages
on demand as the list scrolls (off the GUI thread), and the order detail on Enter.

A till's first sync brings only the last days of orders (the snapshot's window, issue
17): an older one is asked of the server when a reference typed here is not on the till,
or for the dates picked with "Older orders from the server" (GET /sync/orders through
sync.pull.fetch_orders, on the net lane), then listed like the others.

A page (at most ``orders_browse.PAGE`` rows, one query) is read and formatted on the
database lane: the GUI thread only appends its rows and hands Qt ready strings, so a
frame never waits on SQL, dates or babel however many orders the list holds."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.services import orders_browse
from app.services.changes import Changes
from app.services.orders_browse import Cursor, OrderFilter, OrderRow
from sync.pull import PullReport, fetch_orders
from ui.context import AppContext
from ui.server_calls import offline_reason, run_call, words
from ui.widgets.common import heading

COLUMNS = ("Reference", "When", "Status", "Type", "Staff", "Total", "Paid")
Index = QModelIndex | QPersistentModelIndex
DISPLAY = Qt.ItemDataRole.DisplayRole
ALIGN = Qt.ItemDataRole.TextAlignmentRole
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
MONEY_COLUMNS = 5  # Total and Paid, right-aligned


class Formatter:
    """Row texts, made once per row (off the GUI thread); each amount formatted once
    (babel costs ~0.2 ms a call)."""

    def __init__(self, money: Any) -> None:
        self._money = money
        self._amounts: dict[int, str] = {}

    def amount(self, minor: int) -> str:
        text = self._amounts.get(minor)
        if text is None:
            if len(self._amounts) > 50_000:
                self._amounts.clear()
            text = self._amounts[minor] = self._money(minor)
        return text

    def row(self, r: OrderRow) -> tuple[str, ...]:
        return (r.reference, r.created_at.astimezone().strftime("%d %b %Y %H:%M"), r.status,
                r.order_type, r.staff, self.amount(r.total), self.amount(r.paid))


Page = tuple[list[OrderRow], list[tuple[str, ...]], Cursor]


class OrdersModel(QAbstractTableModel):
    """Rows arrive a page at a time; ``fetchMore`` asks for the next page off the GUI thread."""

    found_none = Signal()  # a filter's first page came back empty, with nothing after it
    page_arrived = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        # plain tuples, not OrderRows: an exact tuple of plain values is dropped by the
        # cyclic collector's tracking, so 100,000 of them do not lengthen its pauses
        # (ui/collector.py); ``order(i)`` gives one back as an OrderRow
        self.rows: list[tuple[Any, ...]] = []
        self.filter = OrderFilter()
        self.cursor: Cursor = None
        self.more = True
        self.loading = False
        self.generation = 0  # a page asked for under an older filter is dropped
        self.texts: list[tuple[str, ...]] = []  # each row's column texts
        self._format = Formatter(ctx.money)

    def reset(self, f: OrderFilter) -> None:
        self.beginResetModel()
        self.rows, self.filter, self.cursor, self.more = [], f, None, True
        self.texts = []
        self.generation += 1
        self.loading = False
        self.endResetModel()
        self.fetchMore(QModelIndex())

    def order(self, row: int) -> OrderRow:
        return OrderRow._make(self.rows[row])

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802,B008 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802,B008 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802 - Qt API
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        if role == DISPLAY:
            return self.texts[index.row()][index.column()] if index.isValid() else None
        if role == ALIGN and index.column() >= MONEY_COLUMNS:
            return RIGHT
        return None

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: N802,B008 - Qt API
        return not parent.isValid() and self.more

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: N802,B008 - Qt API
        if parent.isValid() or self.loading or not self.more:
            return
        self.loading = True
        f, after, generation = self.filter, self.cursor, self.generation
        self.ctx.ops.run(lambda: self._page(f, after),
                         success=lambda result: self._append(generation, result))

    def _page(self, f: OrderFilter, after: Cursor) -> Page:
        """One page and its texts (on the database lane)."""
        rows, cursor = orders_browse.page(self.ctx.store, f, after)
        return rows, [self._format.row(r) for r in rows], cursor

    def _append(self, generation: int, result: Page) -> None:
        if generation != self.generation:
            return
        rows, texts, cursor = result
        self.loading = False
        first = not self.rows
        self.more = cursor is not None
        self.cursor = cursor
        if first and not rows and not self.more:
            self.found_none.emit()
        if rows:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(rows) - 1)
            self.rows.extend(map(tuple, rows))
            self.texts.extend(texts)
            self.endInsertRows()
        self.page_arrived.emit()


class OrdersBrowserScreen(QWidget):
    open_order = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("ordersBrowserScreen")
        self.model = OrdersModel(ctx, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.addWidget(heading("Orders", "title"))
        layout.addLayout(self._build_filters())
        self.view = QTableView()
        self.view.setObjectName("ordersTable")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(30)
        # fixed row heights: nothing is measured per row as pages arrive
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self._size_columns()
        self.view.activated.connect(self._open)
        layout.addWidget(self.view, 1)
        self.count = QLabel("")
        self.count.setObjectName("ordersCount")
        self.count.setWordWrap(True)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count, 1)
        bottom.addWidget(self.from_server)
        layout.addLayout(bottom)
        self.model.page_arrived.connect(self._counted)
        self.model.modelReset.connect(self._counted)
        self.model.found_none.connect(self._not_on_this_till)
        self.asked: set[str] = set()  # references already asked of the server
        self.server_note = ""
        ctx.ops.changed.connect(self._on_changes)

    def _size_columns(self) -> None:
        """Columns as wide as their longest usual text (nothing measured per row, so a
        page of 100,000 orders costs nothing); the staff name takes what is left, so the
        reference is never cut on a 1024-pixel till."""
        header = self.view.horizontalHeader()
        self.view.ensurePolished()  # the style sheet's font, not the default one
        metrics = self.view.fontMetrics()
        samples = ("GO-0000000", "04 Sep 2026 23:59", "completed", "offline", "",
                   "€8,888.88", "€8,888.88")
        for column, sample in enumerate(samples):
            if sample:
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
                self.view.setColumnWidth(column, metrics.horizontalAdvance(sample) + 18)
        header.setSectionResizeMode(COLUMNS.index("Staff"), QHeaderView.ResizeMode.Stretch)

    def _build_filters(self) -> QVBoxLayout:
        row = QVBoxLayout()
        self.reference = QLineEdit()
        self.reference.setObjectName("filterReference")
        self.reference.setPlaceholderText("Receipt (GO-…)")
        self.phone = QLineEdit()
        self.phone.setObjectName("filterPhone")
        self.phone.setPlaceholderText("Customer phone")
        self.status = QComboBox()
        self.status.setObjectName("filterStatus")
        for label, value in (("Any status", ""), ("Pending", "pending"), ("Completed", "completed"),
                             ("Refunded", "refunded"), ("Deleted", "deleted")):
            self.status.addItem(label, value)
        self.kind = QComboBox()
        self.kind.setObjectName("filterType")
        for label, value in (("Offline and online", ""), ("Offline (tills)", "offline"),
                             ("Online (back office)", "online")):
            self.kind.addItem(label, value)
        self.staff = QComboBox()
        self.staff.setObjectName("filterStaff")
        self.terminal = QComboBox()
        self.terminal.setObjectName("filterTerminal")
        self.use_dates = QCheckBox("From")
        self.use_dates.setObjectName("filterDates")
        today = QDate.currentDate()
        self.date_from, self.date_to = QDateEdit(today.addDays(-30)), QDateEdit(today)
        for w in (self.date_from, self.date_to):
            w.setCalendarPopup(True)
            w.setDisplayFormat("dd MMM yyyy")
            w.dateChanged.connect(lambda _d: self.apply())
        for w in (self.reference, self.phone):
            w.returnPressed.connect(self.apply)
        for combo in (self.status, self.kind, self.staff, self.terminal):
            combo.currentIndexChanged.connect(lambda _i: self.apply())
        self.use_dates.toggled.connect(lambda _on: self.apply())
        self.from_server = QPushButton("Older orders from the server")
        self.from_server.setObjectName("ordersFromServer")
        self.from_server.setToolTip("This till keeps the last days of orders; this asks the "
                                    "server for the reference typed, or for the dates picked")
        self.from_server.clicked.connect(lambda: self.ask_server(by_hand=True))
        first, second = QHBoxLayout(), QHBoxLayout()
        for w in (self.reference, self.phone):
            first.addWidget(w, 1)
        for combo in (self.status, self.kind):  # a few fixed words: room for the longest
            first.addWidget(combo)
        for w in (self.staff, self.terminal, self.use_dates, self.date_from, QLabel("to"),
                  self.date_to):
            second.addWidget(w)
        second.addStretch(1)
        for combo in (self.staff, self.terminal):
            # names from the store: shrink to a few letters on a 1024-pixel till rather than
            # push the page wide ('Offline and c' once showed for the type, cut the same way)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
        row.addLayout(first)
        row.addLayout(second)
        return row

    def current_filter(self) -> OrderFilter:
        dated = self.use_dates.isChecked()
        return OrderFilter(
            status=self.status.currentData() or None,
            date_from=self.date_from.date().toPython() if dated else None,
            date_to=self.date_to.date().toPython() if dated else None,
            terminal_id=self.terminal.currentData() or None,
            staff_id=self.staff.currentData() or None,
            order_type=self.kind.currentData() or None,
            reference=self.reference.text(), phone=self.phone.text())

    def apply(self) -> None:
        self.server_note = ""
        self.model.reset(self.current_filter())

    def handle_scan(self, code: str) -> None:
        """A receipt's code scanned here: its orders listed (asked of the server if the
        till does not hold it)."""
        self.reference.setText(code.strip().upper())
        self.apply()

    def _not_on_this_till(self) -> None:
        """A reference not on this till: ask the server once (it may be older than the
        till's window), if the till is online."""
        ref = self.reference.text().strip().upper()
        if ref and ref not in self.asked and offline_reason(self.ctx) is None:
            self.ask_server(by_hand=False)

    def ask_server(self, *, by_hand: bool) -> None:
        """GET /sync/orders for the reference typed, else the dates picked; the list
        again when they are on the till."""
        reason = offline_reason(self.ctx)
        if reason is not None:
            self._note(reason)
            return
        ref = self.reference.text().strip().upper() or None
        start = end = None
        if ref is None:
            if not self.use_dates.isChecked():
                self._note("Type a reference, or tick From and pick the days, to ask the "
                           "server for older orders")
                return
            start, end = self._utc_range()
        else:
            self.asked.add(ref)
        self.from_server.setEnabled(False)
        self._note(f"Asking the server for {ref or 'the orders of those days'}…")
        store = self.ctx.store
        run_call(self.ctx, lambda client: fetch_orders(store, client, reference=ref,
                                                       created_from=start, created_to=end),
                 success=lambda report: self._fetched(ref, report),
                 failure=self._fetch_failed)

    def _utc_range(self) -> tuple[datetime, datetime]:
        """The picked days, from the first one's start to the last one's end, local time."""
        zone = datetime.now().astimezone().tzinfo
        first = datetime.combine(self.date_from.date().toPython(), time(), zone)
        last = datetime.combine(self.date_to.date().toPython(), time(), zone)
        return first.astimezone(UTC), (last + timedelta(days=1)).astimezone(UTC)

    def _fetched(self, ref: str | None, report: PullReport) -> None:
        self.from_server.setEnabled(True)
        self.apply()
        if report.pulled:
            self.server_note = (f"Brought {ref} from the server" if ref else
                                "Brought the orders of those days from the server")
        else:
            self.server_note = (f"The server holds no order {ref} for this store" if ref
                                else "The server holds no older orders for those days")
        self._counted()

    def _fetch_failed(self, exc: BaseException) -> bool:
        self.from_server.setEnabled(True)
        said = words(exc)
        if said is None:
            return False
        self._note(said)
        return True

    def _note(self, text: str) -> None:
        self.server_note = text
        self._counted()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.ctx.ops.run(lambda: (orders_browse.staff_choices(self.ctx.store),
                                  orders_browse.terminal_choices(self.ctx.store)),
                         success=self._choices)
        self.apply()

    def _choices(self, choices: tuple[list[tuple[str, str]], list[str]]) -> None:
        people, tills = choices
        for combo, items in ((self.staff, [("Anyone", "")] + [(n, i) for i, n in people]),
                             (self.terminal, [("Any till", "")] + [(t[:8], t) for t in tills])):
            combo.blockSignals(True)
            keep = combo.currentData()
            combo.clear()
            for label, value in items:
                combo.addItem(label, value)
            combo.setCurrentIndex(max(0, combo.findData(keep)))
            combo.blockSignals(False)

    def _on_changes(self, changes: Changes) -> None:
        if changes.orders and self.isVisible():
            self.apply()

    def _counted(self, *_args: object) -> None:
        more = " (scroll for more)" if self.model.more else ""
        n = len(self.model.rows)
        note = f" · {self.server_note}" if self.server_note else ""
        self.count.setText(f"{n} order{'' if n == 1 else 's'} shown{more}{note}")

    def _open(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_order.emit(self.model.order(index.row()).id)
