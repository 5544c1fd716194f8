"""Add or edit a receipt printer: connection, address, paper width, cash drawer."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui.widgets.common import heading

KINDS = (("network", "Network (address and port)"), ("serial", "Serial port"),
         ("file", "Device file"), ("usb", "USB (vendor:product)"),
         ("screen", "On screen (a PDF of each slip; no hardware)"))
HINTS = {"network": "192.168.1.50", "serial": "/dev/ttyUSB0 or COM3",
         "file": "/dev/usb/lp0", "usb": "04b8:0202", "screen": "a folder for the PDFs, e.g. ~/slips"}


class PrinterDialog(QDialog):
    """Builds a printing.connections.PrinterConfig; its validate() message is shown inline."""

    def __init__(self, current: Any | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Printer")
        self.setMinimumWidth(520)
        self.config: Any | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Edit printer" if current else "Add a printer", "dialogTitle"))
        form = self.form = QFormLayout()
        self.name = QLineEdit()
        self.kind = QComboBox()
        for value, label in KINDS:
            self.kind.addItem(label, value)
        # the longest choice ("On screen (a PDF…)") no longer sets the field's width: it cut
        # the label beside it to "Connect"; the list still opens wide enough to read
        self.kind.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.kind.setMinimumContentsLength(24)
        self.kind.view().setMinimumWidth(self.kind.view().sizeHintForColumn(0) + 24)
        self.address = QLineEdit()
        self.port = QSpinBox(minimum=1, maximum=65535, value=9100)
        self.baud = QComboBox()
        for rate in (9600, 19200, 38400, 57600, 115200):
            self.baud.addItem(str(rate), rate)
        self.paper = QComboBox()
        self.paper.addItem("80 mm", 80)
        self.paper.addItem("58 mm", 58)
        self.drawer = QCheckBox("A cash drawer is connected to this printer")
        self.default = QCheckBox("Print receipts here by default")
        for label, w in (("Name", self.name), ("Connection", self.kind), ("Address", self.address),
                         ("Port", self.port), ("Baud rate", self.baud), ("Paper", self.paper)):
            form.addRow(label, w)
        form.addRow(self.drawer)
        form.addRow(self.default)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setProperty("level", "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._try_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.address.editingFinished.connect(self._port_to_its_field)
        self._load(current)

    def _load(self, c: Any | None) -> None:
        if c is None:
            self.default.setChecked(True)
            self._kind_changed()
            return
        self.name.setText(c.name)
        self.kind.setCurrentIndex(max(0, self.kind.findData(c.connection)))
        self.address.setText(c.address)
        self.port.setValue(c.port)
        self.baud.setCurrentIndex(max(0, self.baud.findData(c.baudrate)))
        self.paper.setCurrentIndex(max(0, self.paper.findData(c.paper_mm)))
        self.drawer.setChecked(c.open_drawer)
        self.default.setChecked(c.default)
        self._kind_changed()

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.address.setPlaceholderText(HINTS[kind])
        self.form.setRowVisible(self.port, kind == "network")  # only what this connection needs
        self.form.setRowVisible(self.baud, kind == "serial")

    def _port_to_its_field(self) -> None:
        """One rule: Address holds the host, Port the port. A network address typed as
        "192.168.1.50:9100" is split at once, the port shown in its own field, so what the
        form shows is what is saved (the hint said host:port beside a Port field, and a
        typed port silently beat the one in the Port field)."""
        if self.kind.currentData() != "network":
            return
        host, _, port = self.address.text().strip().rpartition(":")
        bracketed = host.startswith("[") and host.endswith("]")  # an IPv6 address with a port
        if host and (bracketed or ":" not in host) and port.isdigit() and 1 <= int(port) <= 65535:
            self.address.setText(host[1:-1] if bracketed else host)
            self.port.setValue(int(port))

    def build(self) -> Any:
        from printing.connections import PrinterConfig

        self._port_to_its_field()
        cfg = PrinterConfig(name=self.name.text().strip(), connection=self.kind.currentData(),
                            address=self.address.text().strip(), port=self.port.value(), baudrate=int(self.baud.currentData()),
                            paper_mm=int(self.paper.currentData()), open_drawer=self.drawer.isChecked(),
                            default=self.default.isChecked())
        cfg.validate()
        return cfg

    def _try_accept(self) -> None:
        try:
            self.config = self.build()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
