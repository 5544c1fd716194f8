"""The main window: sign-in, then role-aware navigation between screens.

Scans from the wedge or serial scanner are routed to whichever screen is active.

Only the sign-in screen is built with the window; every other screen is imported and
built the first time it is shown or asked for (``window.sales``,
``window.screens["sales"]``), so a till starts without the settings page's sync client
and httpx, the dashboard's QtCharts and a dozen screens' reloads (issue 17). The
register is built just after the sign-in screen is first painted (ui/main.py's Desktop),
while the person picks their name, or at once when it is asked for first. The approvals
and dashboard screens are built at sign-in when the person may see them: their counts
are the navigation's badges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QHBoxLayout,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.permissions import Action, allowed
from app.store.unit_of_work import Actor
from ui import messages
from ui.context import AppContext
from ui.dialogs.unsynced import confirm_unsynced
from ui.screens.signin import SignInScreen
from ui.widgets.common import NoticeBar, heading, icon
from ui.widgets.page_stack import CurrentPageStack, scrolling
from ui.widgets.slip_window import SlipRelay, SlipWindow
from ui.widgets.statusbar import SyncStatusBar
from ui.window_screens import BADGE_SCREENS, ScreenAccess, Screens

if TYPE_CHECKING:
    from ui.screens.register import RegisterScreen

# (key, label, icon, action needed to see it)
NAV = (
    ("register", "Register", "register", Action.SALE_CREATE),
    ("inventory", "Inventory", "inventory", Action.STOCK_COUNT),
    ("catalog", "Catalog", "catalog", Action.CATALOG_EDIT),
    ("sales", "Today's sales", "receipt", Action.ORDER_VIEW),
    ("shift", "Shift", "shift", Action.SHIFT_OPEN),
    ("print_queue", "Print queue", "receipt", Action.ORDER_VIEW),
    ("approvals", "Approvals", "approvals", Action.APPROVAL_DECIDE),
    ("overdue", "Overdue", "overdue", Action.PAYMENT_RECORD),
    ("conflicts", "Conflicts", "conflicts", Action.CONFLICT_RESOLVE),
    ("dashboard", "Dashboard", "dashboard", Action.REPORT_VIEW),
    ("orders", "Orders", "orders", Action.ORDER_VIEW),
    ("rejected_ops", "Refused ops", "conflicts", Action.REPORT_VIEW),
    ("settings", "Settings", "settings", Action.SETTINGS_EDIT),
)
class MainWindow(ScreenAccess, QMainWindow):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setWindowTitle(f"Tillsync — {ctx.settings.name}")
        self.setWindowIcon(icon("logo"))
        self.resize(1280, 800)  # fit_to_screen() trims this to the screen once shown
        self.signin = SignInScreen(ctx)
        self.screens = Screens(self._build_screen)  # the register too: see the module's doc
        self._order_detail = None
        self._detail_from: QWidget | None = None
        ctx.order_requested.connect(self.show_order_detail)
        self.notice = NoticeBar()
        self.status = SyncStatusBar(ctx)
        self.setStatusBar(self.status)
        self.root = CurrentPageStack()
        self.root.addWidget(self.signin)
        self.root.addWidget(self._build_workspace())
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.notice)
        layout.addWidget(self.root, 1)
        self.setCentralWidget(central)
        self._connect()
        self._first_status()

    def _build_workspace(self) -> QWidget:
        workspace = QWidget()
        layout = QHBoxLayout(workspace)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        nav = QWidget()
        nav.setObjectName("navBar")
        # Compact enough for twelve entries beside a 1024x768 register (it scrolls if more come).
        nav.setStyleSheet('QPushButton[kind="nav"] { padding: 9px 8px; font-size: 15px; }')
        nav_layout = QVBoxLayout(nav)
        nav_layout.setContentsMargins(8, 10, 8, 10)
        nav_layout.setSpacing(2)
        nav_layout.addWidget(heading("Tillsync", "brand"))
        self.nav_group = QButtonGroup(self)
        self.nav_buttons: dict[str, QPushButton] = {}
        for key, label, icon_name, _action in NAV:
            button = QPushButton(label)
            button.setObjectName(f"nav_{key}")
            button.setProperty("kind", "nav")
            button.setIcon(icon(f"nav-{icon_name}"))
            button.setIconSize(QSize(22, 22))
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, k=key: self.show_screen(k))
            self.nav_group.addButton(button)
            nav_layout.addWidget(button)
            self.nav_buttons[key] = button
        nav_layout.addStretch(1)
        self.pages = CurrentPageStack()
        nav_area = scrolling(nav, horizontal=False)
        nav_area.setObjectName("navScroll")
        nav_area.setFixedWidth(self._nav_width())  # a badge ("Approvals (3)") never moves the pages
        layout.addWidget(nav_area)
        layout.addWidget(scrolling(self.pages), 1)
        return workspace

    def _nav_width(self) -> int:
        """Wide enough for the longest entry with a badge ("Approvals  (3)") and a scroll bar."""
        widest = 0
        for button in self.nav_buttons.values():
            text = button.text()
            button.setText(f"{text}  (9)")
            widest = max(widest, button.sizeHint().width())
            button.setText(text)
        return widest + 16 + 12

    def _first_status(self) -> None:
        """The bar's sync words at once; the printer's once printing has loaded (Desktop's
        warm-up after the window shows), so building the window never starts the escpos
        and reportlab import that held up the sign-in screen (issue 17)."""
        printing = self.ctx.printing
        if printing is None or getattr(printing, "loaded", True):
            self.status.refresh()
            return
        from sync.status import read_status

        store = self.ctx.store
        self.ctx.ops.run(lambda: read_status(store), success=self.status.show_status)

    def _attention_badge(self, count: int) -> None:
        self.nav_buttons["dashboard"].setText(f"Dashboard  ({count})" if count else "Dashboard")

    def show_order_detail(self, order_id: str) -> None:
        if self.pages.indexOf(self.order_detail) < 0:
            self.pages.addWidget(self.order_detail)
        if self.pages.currentWidget() is not self.order_detail:
            self._detail_from = self.pages.currentWidget()
        self.pages.setCurrentWidget(self.order_detail)
        self._clear_nav()  # the order detail is no nav entry: none stays lit over it
        self.order_detail.open_order(order_id)

    def _clear_nav(self) -> None:
        checked = self.nav_group.checkedButton()
        if checked is not None:
            self.nav_group.setExclusive(False)  # an exclusive group never unchecks its last button
            checked.setChecked(False)
            self.nav_group.setExclusive(True)

    def _detail_back(self) -> None:
        back = self._detail_from or self.sales
        self.pages.setCurrentWidget(back)
        key = next((k for k, s in self.screens.items() if s is back), None)
        if key:
            self.nav_buttons[key].setChecked(True)

    def _approvals_badge(self, count: int) -> None:
        self.nav_buttons["approvals"].setText(f"Approvals  ({count})" if count else "Approvals")

    def _connect(self) -> None:
        ops = self.ctx.ops
        ops.user_error.connect(lambda text: self.notice.show_message("error", text))
        ops.crashed.connect(self._crashed)
        self.ctx.notice.connect(self.notice.show_message)
        self.signin.signed_in.connect(self.on_signed_in)
        # unsynced data is never forgotten: say what waits, then go on if the person says so
        self.status.sign_out.connect(lambda: confirm_unsynced(self.ctx.store, self, "Sign out",
                                                              self.sign_out))
        self.status.switch_user.connect(lambda: confirm_unsynced(self.ctx.store, self, "Switch user",
                                                                 self.switch_user))
        self.status.open_print_queue.connect(lambda: self.show_screen("print_queue"))
        self.slip: SlipWindow | None = None
        self.slip_relay = SlipRelay(self)
        self.slip_relay.printed.connect(self.show_slip)

    def _connect_register(self, register: RegisterScreen) -> None:
        """The register's signals, when it is built (ScreenAccess._build_screen)."""
        register.shift_needed.connect(self.open_shift)
        register.open_order.connect(self.open_order)
        register.model.refused.connect(self.ctx.error)
        # the next sale's first item: the slip is torn off (it hid the totals and banner at 1024 px)
        register.model.changed.connect(lambda: None if register.cart.is_empty else self._tear_off_slip())
        # After an inline edit (F3 quantity) the keys go back to the scan field.
        register.table.itemDelegate().closeEditor.connect(
            lambda *_: QTimer.singleShot(0, self._scan_field_focus))

    def _scan_field_focus(self) -> None:
        register = self.screens.get("register")
        if register is not None and self.current_screen is register \
                and QApplication.activeModalWidget() is None:
            self.register.scan.setFocus(Qt.FocusReason.OtherFocusReason)

    def listen_for_slips(self) -> None:
        """Show the screen printer's slips (called once printing has loaded, off the start path)."""
        from printing.screen_printer import add_listener

        add_listener(self.slip_relay)

    def _tear_off_slip(self) -> None:
        if self.slip is not None and self.slip.isVisible():
            self.slip.hide()

    def show_slip(self, pdf: str, text: str) -> None:
        """A slip from the screen printer, beside the till; the keyboard stays where it was."""
        if self.slip is None:
            self.slip = SlipWindow(self)
        had_focus = QApplication.focusWidget()
        self.slip.show_slip(pdf, text)
        if had_focus is not None and had_focus.window() is self:  # some platforms activate it anyway
            self.activateWindow()
            had_focus.setFocus()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        import sys

        screen_printer = sys.modules.get("printing.screen_printer")  # loaded only if printing was
        if screen_printer is not None:
            screen_printer.remove_listener(self.slip_relay)
        super().closeEvent(event)

    def _crashed(self, detail: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, "Error", messages.UNEXPECTED, parent=self)
        box.setDetailedText(detail)
        box.open()  # non-blocking: the till keeps running

    # -- session ----------------------------------------------------------------
    def on_signed_in(self, actor: Actor) -> None:
        for key in BADGE_SCREENS:  # built before the actor is set: they load their counts for it
            action = next(a for k, _l, _i, a in NAV if k == key)
            if key not in self.screens and allowed(actor.role, action):
                self.screens[key]  # noqa: B018 - built on look-up
        self.ctx.set_actor(actor)
        visible = [key for key, _l, _i, action in NAV if self.ctx.can(action)]
        for key, button in self.nav_buttons.items():
            button.setVisible(key in visible)
        self.register.apply_role()
        self.root.setCurrentIndex(1)
        self.notice.clear()
        if visible:
            self.show_screen(visible[0])
        if QApplication.activeWindow() is None:  # no window manager made it active (the
            self.activateWindow()  # demo's Xvfb): the register's keys need it (F12 did nothing)

    def sign_out(self) -> None:
        self.register.new_sale()
        self.register.sale_banner.hide()
        self.switch_user()

    def switch_user(self) -> None:
        """Back to sign-in; the register keeps its cart for whoever signs in next."""
        self.ctx.set_actor(None)
        self.notice.clear()  # the next person never sees the last one's notices ("Change due")
        self.register.sale_banner.hide()
        self.root.setCurrentIndex(0)
        self.signin.reset()

    def open_shift(self) -> None:
        """The register has no open shift: show the shift screen with its float count; once
        the shift is open, back to the register and its waiting sale."""
        self.show_screen("shift")
        self.shift.opened.connect(lambda: self.show_screen("register"),
                                  Qt.ConnectionType.SingleShotConnection)
        self.shift.open_shift()

    def show_screen(self, key: str) -> None:
        if key in ("journal", "sync_health"):  # Settings tabs an attention item may name
            self.show_screen("settings")
            self.settings.show_page(key)
            return
        if not self.nav_buttons[key].isVisible():
            return
        self.nav_buttons[key].setChecked(True)
        self.pages.setCurrentWidget(self.screens[key])

    @property
    def current_screen(self) -> QWidget:
        return self.pages.currentWidget() if self.root.currentIndex() == 1 else self.signin

    def fit_to_screen(self) -> None:
        """1280x800 where there is room, never larger than the screen's free area."""
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is None:
            return
        frame = self.frameGeometry().size() - self.geometry().size()
        self.resize(min(1280, screen.width() - frame.width()), min(800, screen.height() - frame.height()))

    # -- scans ------------------------------------------------------------------
    def route_scan(self, code: str) -> None:
        """Send a scan to the active screen; one nobody takes is said, never dropped
        silently (the cashier would think the item was rung up)."""
        modal = QApplication.activeModalWidget()
        take = getattr(modal, "handle_scan", None)
        if callable(take):  # a dialog that takes scans (the exchange's new items, its receipt)
            take(code)
            return
        built = self.screens.get  # a screen not built yet is not the one showing
        register = cast("RegisterScreen | None", built("register"))
        screen = self.current_screen
        if screen is self.signin:
            self.signin.handle_scan(code)
            return
        if modal is not None and (register is None or register.tender_dialog is None):
            self.ctx.warn(messages.scan_behind_dialog(code))
            return
        if register is not None and screen is register:
            self.register.handle_scan(code)
        elif screen is built("sales"):
            self.open_order(code)
        elif screen is built("orders"):
            self.orders_browser.handle_scan(code)  # a receipt's code: that order listed
        elif screen is built("settings"):
            self.settings.show_scan(code)
        elif screen is built("inventory"):
            self.inventory.handle_scan(code)
        elif screen is built("catalog"):
            self.catalog.handle_scan(code)
        else:
            self.ctx.warn(messages.scan_not_here(code))

    def open_order(self, reference: str) -> None:
        if not self.nav_buttons["sales"].isVisible():
            return
        self.show_screen("sales")
        self.sales.open_reference(reference)
