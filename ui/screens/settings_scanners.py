"""Scanner settings: wedge timing, prefix/suffix, Enter terminator, serial port."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui.config import ScannerConfig
from ui.context import AppContext
from ui.scanner import available_ports
from ui.widgets.common import action_button, heading


class ScannersPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.wedge = QCheckBox("Recognise a keyboard-wedge scanner by its typing speed")
        self.interval = QSpinBox(minimum=5, maximum=200, suffix=" ms")
        self.min_length = QSpinBox(minimum=1, maximum=64)
        self.prefix = QLineEdit()
        self.suffix = QLineEdit()
        self.enter = QCheckBox("The scanner ends each code with Enter")
        self.port = QComboBox(editable=True)
        self.baud = QComboBox()
        for rate in (9600, 19200, 38400, 57600, 115200):
            self.baud.addItem(str(rate), rate)
        form.addRow(self.wedge)
        form.addRow("Longest gap between keys", self.interval)
        form.addRow("Shortest code", self.min_length)
        form.addRow("Prefix characters", self.prefix)
        form.addRow("Suffix characters", self.suffix)
        form.addRow(self.enter)
        form.addRow(heading("Serial scanner", "label"))
        form.addRow("Port", self.port)
        form.addRow("Baud rate", self.baud)
        layout.addLayout(form)
        self.save_button = action_button("Save scanner settings", "Ctrl+S", kind="primary")
        self.save_button.clicked.connect(self.save)
        layout.addWidget(self.save_button)
        self.last_scan = QLabel("Scan something to test the scanner.")
        self.last_scan.setProperty("role", "subtle")
        layout.addWidget(self.last_scan)
        layout.addStretch(1)
        self.load(ctx.scanner_config)

    def load(self, c: ScannerConfig) -> None:
        self.wedge.setChecked(c.wedge_enabled)
        self.interval.setValue(c.max_interval_ms)
        self.min_length.setValue(c.min_length)
        self.prefix.setText(c.prefix)
        self.suffix.setText(c.suffix)
        self.enter.setChecked(c.enter_terminates)
        self.port.clear()
        self.port.addItem("")
        self.port.addItems(available_ports())
        self.port.setCurrentText(c.serial_port)
        index = self.baud.findData(c.serial_baud)
        self.baud.setCurrentIndex(max(index, 0))

    def config(self) -> ScannerConfig:
        return replace(self.ctx.scanner_config, wedge_enabled=self.wedge.isChecked(),
                       max_interval_ms=self.interval.value(), min_length=self.min_length.value(),
                       prefix=self.prefix.text(), suffix=self.suffix.text(),
                       enter_terminates=self.enter.isChecked(), serial_port=self.port.currentText().strip(),
                       serial_baud=int(self.baud.currentData()))

    def save(self) -> None:
        self.ctx.save_scanner_config(self.config())
        self.ctx.info("Scanner settings saved")

    def show_scan(self, code: str) -> None:
        self.last_scan.setText(f"Last scan: {code}")
