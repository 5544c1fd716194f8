"""The manager's dashboard: takings against last week, revenue by hour and by day,
offline against online, tender mix, top products, plans outstanding; CSV and PDF.

Online, a manager or owner signs in to the server once (their staff code and PIN: the
till's own token may not read figures) and the screen reads the server's rollups for
the store picked (sync/server_figures.py: /analytics/summary and /analytics/offline-orders
off the GUI thread); the picker lists the stores the server lets them read. Offline, or
before that sign-in, it shows what this till holds for its store
(app/services/analytics_local.py) and says how fresh that is.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QPieSeries,
    QValueAxis,
)
from PySide6.QtCore import QBuffer, QDate, QIODevice, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.permissions import Action
from app.domain.words import count_of
from app.services import analytics_local
from app.services.analytics_local import Dashboard
from app.services.catalog_csv import neutralised
from app.services.changes import Changes
from sync.client import AuthError, SyncClient, SyncError
from sync.server_figures import StoreChoice, fetch_dashboard, stores_visible
from sync.staff_api import StaffApi, StaffSession
from ui.context import AppContext
from ui.dialogs.server_pin import ServerPinDialog
from ui.screens.attention import AttentionPanel
from ui.server_calls import offline_reason, run_call
from ui.widgets.common import heading

SERVER_TIP = ("Sign in to the server with your staff code and PIN to see every till's "
              "figures and the other stores you may read")


def change_text(now: int, before: int) -> str:
    """"+12%" against last week, or "new" when last week sold nothing."""
    if before == 0:
        return "new" if now else "—"
    return f"{(now - before) * 100 / before:+.0f}%"


def _card(title: str, name: str) -> tuple[QWidget, QLabel, QLabel]:
    box = QWidget()
    box.setObjectName(name)
    box.setProperty("kind", "card")
    layout = QVBoxLayout(box)
    layout.addWidget(heading(title, "subtle"))
    value, detail = heading("—", "title"), heading("", "subtle")
    detail.setWordWrap(True)
    for label in (value, detail):  # a long figure wraps; it never widens the page
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    value.setObjectName(f"{name}Value")
    detail.setObjectName(f"{name}Detail")
    layout.addWidget(value)
    layout.addWidget(detail)
    return box, value, detail


class DashboardScreen(QWidget):
    """Figures of a date range; ``open_screen`` names the screen an attention item fixes."""

    open_screen = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("dashboardScreen")
        self.figures: Dashboard | None = None
        #: the person signed in at the server for figures (until the till's person changes)
        self.session: StaffSession | None = None
        self.stores: list[StoreChoice] = []
        self.source = "till"  # where the figures shown came from: "till" or "server"
        self.note = ""  # why the till's own figures are shown, when the server's could be
        self.dialog: ServerPinDialog | None = None
        self._asked = 0  # reloads asked for; an older answer is not shown over a newer one
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 16)
        layout.addLayout(self._build_controls())
        self.freshness = heading("", "subtle")
        self.freshness.setObjectName("dashboardFreshness")
        self.freshness.setWordWrap(True)
        layout.addWidget(self.freshness)
        layout.addLayout(self._build_cards())
        body = QHBoxLayout()
        charts = QGridLayout()
        self.hour_chart = self._chart_view("Revenue by hour", "hourChart")
        self.day_chart = self._chart_view("Revenue by day", "dayChart")
        self.tender_chart = self._chart_view("Tender mix", "tenderChart")
        charts.addWidget(self.hour_chart, 0, 0)
        charts.addWidget(self.day_chart, 0, 1)
        charts.addWidget(self.tender_chart, 1, 0)
        self.products = QTableWidget(0, 3)
        self.products.setObjectName("topProducts")
        # "Product": at 1024 px "Top products" read "op product" beside Qty and Revenue
        self.products.setHorizontalHeaderLabels(["Product", "Qty", "Revenue"])
        self.products.verticalHeader().hide()
        header = self.products.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        charts.addWidget(self.products, 1, 1)
        body.addLayout(charts, 1)
        self.attention = AttentionPanel(ctx)
        self.attention.setFixedWidth(300)
        self.attention.open_screen.connect(self.open_screen)
        body.addWidget(self.attention, 1)
        layout.addLayout(body, 1)
        ctx.ops.changed.connect(self._on_changes)
        ctx.actor_changed.connect(self._on_actor)

    # -- building ---------------------------------------------------------------
    def _build_controls(self) -> QVBoxLayout:
        """Two rows, so the page fits a 1024 px till: the store and dates, then the ranges
        and what can be done with the figures."""
        rows = QVBoxLayout()
        row, second = QHBoxLayout(), QHBoxLayout()
        rows.addLayout(row)
        rows.addLayout(second)
        row.addWidget(heading("Dashboard", "title"))
        row.addStretch(1)
        self.store_picker = QComboBox()
        self.store_picker.setObjectName("storePicker")
        self.store_picker.setMinimumWidth(200)
        # the store's name arrives after the first show: room for it then ('Harbour Stree')
        self.store_picker.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.store_picker.setToolTip("This till holds its own store's figures; the stores "
                                     "you may read are listed once you see the server's figures")
        self.store_picker.activated.connect(lambda _i: self.reload())
        row.addWidget(self.store_picker)
        today = QDate.currentDate()
        self.date_from, self.date_to = QDateEdit(today.addDays(-6)), QDateEdit(today)
        for edit, name in ((self.date_from, "dateFrom"), (self.date_to, "dateTo")):
            edit.setObjectName(name)
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd MMM yyyy")
            edit.dateChanged.connect(lambda _d: self.reload())
            row.addWidget(edit)
        for label, days in (("Today", 0), ("7 days", 6), ("30 days", 29)):
            button = QPushButton(label)
            button.setObjectName(f"range{days}")
            button.clicked.connect(lambda _=False, n=days: self.set_range(n))
            second.addWidget(button)
        second.addStretch(1)
        self.csv_button, self.pdf_button = QPushButton("Export CSV"), QPushButton("PDF report")
        self.csv_button.setObjectName("exportCsv")
        self.pdf_button.setObjectName("exportPdf")
        self.server_button = QPushButton("Server figures…")
        self.server_button.setObjectName("serverFigures")
        self.server_button.setToolTip(SERVER_TIP)
        self.server_button.clicked.connect(self.ask_server)
        self.csv_button.clicked.connect(lambda: self._ask_path("CSV", "csv", self.export_csv))
        self.pdf_button.clicked.connect(lambda: self._ask_path("PDF", "pdf", self.export_pdf))
        for button in (self.server_button, self.csv_button, self.pdf_button):
            second.addWidget(button)
        return rows

    def _build_cards(self) -> QHBoxLayout:
        row = QHBoxLayout()
        cards = (("Today", "todayCard"), ("Range", "rangeCard"),
                 ("Offline / online", "typeCard"), ("Payment plans", "plansCard"))
        self.cards: dict[str, tuple[QLabel, QLabel]] = {}
        for title, name in cards:
            box, value, detail = _card(title, name)
            self.cards[name] = (value, detail)
            row.addWidget(box)
        return row

    def _chart_view(self, title: str, name: str) -> QChartView:
        chart = QChart()
        chart.setTitle(title)
        chart.legend().setVisible(False)
        view = QChartView(chart)
        view.setObjectName(name)
        view.setRenderHint(QPainter.RenderHint.Antialiasing)
        view.setMinimumHeight(180)
        view.setMinimumWidth(180)
        return view

    # -- loading ----------------------------------------------------------------
    def set_range(self, days: int) -> None:
        today = QDate.currentDate()
        self.date_from.blockSignals(True)
        self.date_from.setDate(today.addDays(-days))
        self.date_from.blockSignals(False)
        self.date_to.setDate(today)
        self.reload()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.reload()

    def _on_changes(self, changes: Changes) -> None:
        if changes.orders and self.isVisible():
            self.reload()

    def _on_actor(self, _actor: object) -> None:
        """Another person (or nobody): the server sign-in was theirs, not the next one's."""
        self.session, self.stores = None, []
        self.store_picker.clear()

    def _may_ask_server(self) -> str | None:
        """None when the server's figures can be read now; else why not, in words."""
        if not self.ctx.can(Action.REPORT_VIEW):
            return "Only a manager or owner reads the server's figures"
        return offline_reason(self.ctx)

    def reload(self) -> None:
        start, end = self.date_from.date().toPython(), self.date_to.date().toPython()
        if end < start:
            self.freshness.setText("The first day is after the last: nothing to show")
            return
        self._asked += 1
        asked = self._asked
        why_not = self._may_ask_server()
        self.server_button.setVisible(self.ctx.can(Action.REPORT_VIEW) and self.session is None)
        self.server_button.setEnabled(why_not is None)
        self.server_button.setToolTip(why_not or SERVER_TIP)
        if self.session is not None and why_not is None and self.stores:
            self._load_server(asked, start, end)
        else:
            self._load_local(asked, start, end, why_not or "")
        self.attention.reload()

    def _load_local(self, asked: int, start: date, end: date, note: str) -> None:
        self.ctx.ops.run(lambda: analytics_local.dashboard(self.ctx.store, start, end),
                         success=lambda d: self._arrived(asked, d, "till", note))

    def _load_server(self, asked: int, start: date, end: date) -> None:
        session, today = self.session, date.today()
        choice = self.stores[max(0, self.store_picker.currentIndex())]
        assert session is not None

        async def call(client: SyncClient) -> Dashboard:
            async with StaffApi(client) as api:
                return await fetch_dashboard(api, session, choice, start, end, today)

        def failed(exc: BaseException) -> bool:
            if not isinstance(exc, SyncError):
                return False
            if isinstance(exc, AuthError) and exc.status == 401:
                self.session, self.stores = None, []  # the sign-in ran out: ask again
                self.store_picker.clear()
                self.server_button.setVisible(True)
            note = f"The server's figures could not be read ({exc.message})"
            self._load_local(asked, start, end, note)
            return True

        run_call(self.ctx, call, success=lambda d: self._arrived(asked, d, "server", ""),
                 failure=failed)

    def _arrived(self, asked: int, d: Dashboard, source: str, note: str) -> None:
        if asked != self._asked:
            return  # a later reload is under way; its answer is the one to show
        self.source, self.note = source, note
        self.show_figures(d)

    # -- the server sign-in -------------------------------------------------------
    def ask_server(self) -> ServerPinDialog | None:
        if self._may_ask_server() is not None:
            return None
        today = date.today()

        async def call(client: SyncClient, code: str, pin: str, _reason: str
                       ) -> tuple[StaffSession, list[StoreChoice], str]:
            async with StaffApi(client) as api:
                who = await api.sign_in(pin, code=code)
                return who, await stores_visible(api, who, today), self.ctx.store.device().store_id

        dialog = ServerPinDialog(
            self.ctx, "The server's figures",
            "Type your staff code and PIN to read the server's figures: every till of the "
            "store and the back office, and the other stores you may read.", "Sign in",
            call, lambda answer: answer, changes=None, parent=self)
        dialog.accepted.connect(lambda: self._signed_in(*dialog.answer))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _signed_in(self, who: StaffSession, stores: list[StoreChoice], own: str) -> None:
        self.session = who
        self.stores = sorted(stores, key=lambda s: (s.id != own, s.name.lower()))
        self.store_picker.clear()
        for s in self.stores:
            self.store_picker.addItem(s.name, s.id)
        if not self.stores:
            self.ctx.warn(f"The server lets {who.name} read no store's figures yet")
        self.reload()

    def show_figures(self, d: Dashboard) -> None:
        self.figures = d
        money = self.ctx.money
        if self.store_picker.count() == 0:
            self.store_picker.addItem(d.store_name or "This store")
        self.freshness.setText(self._freshness(d))
        value, detail = self.cards["todayCard"]
        value.setText(money(d.today.gross))
        detail.setText(f"{count_of(d.today.orders, 'order')} · {change_text(d.today.gross, d.same_day_last_week.gross)}"
                       f" against {money(d.same_day_last_week.gross)} last week")
        value, detail = self.cards["rangeCard"]
        value.setText(money(d.total.gross))
        detail.setText(f"{count_of(d.total.orders, 'order')} · average {money(d.total.average)} · "
                       f"net {money(d.total.net)}")
        value, detail = self.cards["typeCard"]
        off, on = d.by_type.get("offline"), d.by_type.get("online")
        value.setText(f"{off.orders if off else 0} / {on.orders if on else 0}")
        detail.setText(f"{money(off.gross if off else 0)} / {money(on.gross if on else 0)}")
        value, detail = self.cards["plansCard"]
        value.setText(money(d.plans_outstanding))
        detail.setText(f"{d.plans_overdue} overdue · {money(d.plans_overdue_amount)}")
        hours = [(h, v) for h, v in d.by_hour if v] or [(12, 0)]
        span = range(min(h for h, _v in hours), max(h for h, _v in hours) + 1)
        self._bars(self.hour_chart, [f"{h:02d}h" for h in span], [d.by_hour[h][1] for h in span])
        labels = [day.strftime("%a %d") if len(d.by_day) <= 14 else day.strftime("%d/%m")
                  for day, _v in d.by_day]
        self._bars(self.day_chart, labels, [v for _d, v in d.by_day])
        self._pie(self.tender_chart, d.tenders)
        self.products.setRowCount(len(d.top_products))
        for i, p in enumerate(d.top_products):
            for col, text in enumerate((p.name, f"{p.qty_milli / 1000:g}", money(p.revenue))):
                self.products.setItem(i, col, QTableWidgetItem(text))

    def _freshness(self, d: Dashboard) -> str:
        when = d.as_of.astimezone().strftime("%d %b %H:%M") if d.as_of else None
        if self.source == "server":
            return (f"The server's figures for {d.store_name}: every till and the back office, "
                    f"read at {datetime.now().strftime('%H:%M')}")
        text = (f"Figures from this till for {d.store_name}, as of {when} (its last sync "
                "with the server)" if when else
                f"Figures from this till for {d.store_name}: never synced with the server, "
                "so only this till's own sales")
        return f"{self.note}. {text}" if self.note else text

    def _bars(self, view: QChartView, labels: list[str], values: list[int]) -> None:
        chart = view.chart()
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        bars = QBarSet("Revenue")
        for v in values:
            bars.append(v / 100)
        series = QBarSeries()
        series.append(bars)
        chart.addSeries(series)
        x, y = QBarCategoryAxis(), QValueAxis()
        x.append(labels)
        font = x.labelsFont()
        font.setPointSizeF(7)
        x.setLabelsFont(font)
        x.setLabelsAngle(-90)
        y.setRange(0, max([v / 100 for v in values] + [1]) * 1.1)
        y.applyNiceNumbers()  # round steps: the axis read 0, 5, 11, 16, 21
        step = (y.max() - y.min()) / max(1, y.tickCount() - 1)
        # as many decimals as a step needs: under €5 the whole euros read 0, 0, 1, 1, 1
        y.setLabelFormat("%.0f" if step >= 1 else "%.1f" if step >= 0.1 else "%.2f")
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(x)
        series.attachAxis(y)

    def _pie(self, view: QChartView, tenders: dict[str, int]) -> None:
        chart = view.chart()
        chart.removeAllSeries()
        pie = QPieSeries()
        for tender, amount in tenders.items():
            if amount > 0:
                pie.append(f"{tender} {self.ctx.money(amount)}", amount)
        pie.setLabelsVisible(True)
        chart.addSeries(pie)

    # -- exports ----------------------------------------------------------------
    def _ask_path(self, kind: str, ext: str, write: object) -> None:
        name = f"dashboard-{date.today():%Y%m%d}.{ext}"
        path, _ = QFileDialog.getSaveFileName(self, f"Save the {kind}", str(Path.home() / name),
                                              f"{kind} (*.{ext})")
        if path and callable(write):
            write(Path(path))

    def export_csv(self, path: Path) -> Path:
        """The figures shown, amounts in minor units (a spreadsheet does the formatting)."""
        assert self.figures is not None
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            for row in analytics_local.csv_rows(self.figures):  # names never run as formulas
                writer.writerow([neutralised(c) if i < 2 else c for i, c in enumerate(row)])
        self.ctx.info(f"Saved {path.name}")
        return path

    def chart_pngs(self) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for view in (self.hour_chart, self.day_chart, self.tender_chart):
            buffer = QBuffer()
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            view.grab().save(buffer, "PNG")
            out[view.chart().title()] = bytes(buffer.data().data())
        return out

    def export_pdf(self, path: Path) -> Path:
        assert self.figures is not None
        from printing.dashboard_report import write_dashboard_pdf

        d, money = self.figures, self.ctx.money
        texts = {"orders": str(d.total.orders), "gross": money(d.total.gross),
                 "tax": money(d.total.tax), "net": money(d.total.net),
                 "average": money(d.total.average),
                 "today": f"{money(d.today.gross)} ({d.today.orders} orders)",
                 "last_week": f"{money(d.same_day_last_week.gross)} "
                              f"({d.same_day_last_week.orders} orders)",
                 "plans": money(d.plans_outstanding),
                 "overdue": f"{d.plans_overdue}: {money(d.plans_overdue_amount)}",
                 "as_of": self.freshness.text()}
        texts |= {f"type:{k}": money(f.gross) for k, f in d.by_type.items()}
        texts |= {f"tender:{k}": money(v) for k, v in d.tenders.items()}
        texts |= {f"product:{i}": money(p.revenue) for i, p in enumerate(d.top_products)}
        write_dashboard_pdf(d, self.chart_pngs(), texts, path)
        self.ctx.info(f"Saved {path.name}")
        return path

