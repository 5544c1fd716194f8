"""The window's screens other than sign-in: built on first use.

``window.sales`` or ``window.screens["sales"]`` imports and builds the screen the first
time (and adds it to the window's pages); ``in``, ``get``, ``values`` and ``items`` of
``window.screens`` see only the screens built so far. Issue 17: the sign-in screen needs
none of them, and building them all at start cost the settings page's sync client and
httpx, the dashboard's QtCharts and a dozen screens' reloads at every sign-in. The
register is built by the Desktop just after the sign-in screen is first painted (its
import and build, with Babel's locale data for the empty cart's total, were ~60-75 ms
of CPU before the sign-in screen could show), or at its first use if that comes sooner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QStackedWidget, QWidget

if TYPE_CHECKING:
    from ui.context import AppContext
    from ui.screens.approvals import ApprovalsScreen
    from ui.screens.catalog import CatalogScreen
    from ui.screens.conflicts import ConflictsScreen
    from ui.screens.dashboard import DashboardScreen
    from ui.screens.inventory import InventoryScreen
    from ui.screens.order_detail import OrderDetailScreen
    from ui.screens.orders_browser import OrdersBrowserScreen
    from ui.screens.overdue import OverdueScreen
    from ui.screens.print_queue import PrintQueueScreen
    from ui.screens.register import RegisterScreen
    from ui.screens.rejected_ops import RejectedOpsScreen
    from ui.screens.sales_today import SalesTodayScreen
    from ui.screens.settings import SettingsScreen
    from ui.screens.shift import ShiftScreen

#: nav key -> the screen's module and class, built on first use
LAZY_SCREENS = {
    "register": ("ui.screens.register", "RegisterScreen"),
    "inventory": ("ui.screens.inventory", "InventoryScreen"),
    "catalog": ("ui.screens.catalog", "CatalogScreen"),
    "sales": ("ui.screens.sales_today", "SalesTodayScreen"),
    "shift": ("ui.screens.shift", "ShiftScreen"),  # the trading day: float, cash in and out, X, close
    "print_queue": ("ui.screens.print_queue", "PrintQueueScreen"),
    "approvals": ("ui.screens.approvals", "ApprovalsScreen"),
    "overdue": ("ui.screens.overdue", "OverdueScreen"),
    "conflicts": ("ui.screens.conflicts", "ConflictsScreen"),
    "dashboard": ("ui.screens.dashboard", "DashboardScreen"),  # with "needs attention" (issue 15)
    "orders": ("ui.screens.orders_browser", "OrdersBrowserScreen"),  # every order
    "rejected_ops": ("ui.screens.rejected_ops", "RejectedOpsScreen"),  # refused operations
    "settings": ("ui.screens.settings", "SettingsScreen"),
}
#: screens whose counts are nav badges: built at sign-in for whoever may see them
BADGE_SCREENS = ("approvals", "dashboard")


class Screens(dict[str, QWidget]):
    """The window's screens by nav key; a screen not built yet is built when looked up
    (``in``, ``get``, ``values`` and ``items`` see only the built ones)."""

    def __init__(self, build) -> None:  # noqa: ANN001 - MainWindow._build_screen
        super().__init__()
        self._build = build

    def __missing__(self, key: str) -> QWidget:
        if key not in LAZY_SCREENS:
            raise KeyError(key)
        screen = self._build(key)
        self[key] = screen
        return screen


class ScreenAccess:
    """The lazily built screens as attributes of the main window (a mixin of MainWindow,
    which provides ``ctx``, ``pages``, ``screens`` and the badge and navigation slots)."""

    ctx: AppContext
    pages: QStackedWidget
    screens: Screens
    _order_detail: OrderDetailScreen | None

    def _build_screen(self, key: str) -> QWidget:
        module, name = LAZY_SCREENS[key]
        screen: Any = getattr(importlib.import_module(module), name)(self.ctx)
        self.pages.addWidget(screen)
        window: Any = self  # the MainWindow's slots
        if key == "register":
            window._connect_register(screen)
        if key in ("approvals", "overdue", "orders"):
            screen.open_order.connect(self.ctx.show_order)
        if key == "approvals":
            screen.count_changed.connect(window._approvals_badge)
        elif key == "dashboard":
            screen.open_screen.connect(window.show_screen)
            screen.attention.count_changed.connect(window._attention_badge)
        return screen

    @property
    def register(self) -> RegisterScreen:
        return self.screens["register"]  # type: ignore[return-value]

    @property
    def inventory(self) -> InventoryScreen:
        return self.screens["inventory"]  # type: ignore[return-value]

    @property
    def catalog(self) -> CatalogScreen:
        return self.screens["catalog"]  # type: ignore[return-value]

    @property
    def sales(self) -> SalesTodayScreen:
        return self.screens["sales"]  # type: ignore[return-value]

    @property
    def shift(self) -> ShiftScreen:
        return self.screens["shift"]  # type: ignore[return-value]

    @property
    def print_queue(self) -> PrintQueueScreen:
        return self.screens["print_queue"]  # type: ignore[return-value]

    @property
    def approvals(self) -> ApprovalsScreen:
        return self.screens["approvals"]  # type: ignore[return-value]

    @property
    def overdue(self) -> OverdueScreen:
        return self.screens["overdue"]  # type: ignore[return-value]

    @property
    def conflicts(self) -> ConflictsScreen:
        return self.screens["conflicts"]  # type: ignore[return-value]

    @property
    def dashboard(self) -> DashboardScreen:
        return self.screens["dashboard"]  # type: ignore[return-value]

    @property
    def orders_browser(self) -> OrdersBrowserScreen:
        return self.screens["orders"]  # type: ignore[return-value]

    @property
    def rejected_ops(self) -> RejectedOpsScreen:
        return self.screens["rejected_ops"]  # type: ignore[return-value]

    @property
    def settings(self) -> SettingsScreen:
        return self.screens["settings"]  # type: ignore[return-value]

    @property
    def order_detail(self) -> OrderDetailScreen:
        """The full order (no nav entry); owned (and freed) by the window until first shown."""
        if self._order_detail is None:
            from ui.screens.order_detail import OrderDetailScreen

            window: Any = self  # the MainWindow: owner of the screen, and its Back
            self._order_detail = OrderDetailScreen(self.ctx)
            self._order_detail.setParent(window)
            self._order_detail.hide()
            self._order_detail.back.connect(window._detail_back)
        return self._order_detail

