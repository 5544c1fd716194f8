"""The one door from stored text to printer bytes: no stored text becomes a command.

An ESC/POS printer reads a control byte in the text as the start of a command (ESC p 0
kicks the cash drawer, GS V cuts, ESC @ resets). A product name, the store's header and
footer, a customer's or a staff member's name, a note: anything the till prints that
came from a person or from the server passes :func:`printable` before the renderer turns
it into bytes (printing/escpos_output.py, printing/labels.py). The renderer's own
commands (bold, size, barcode, cut, drawer kick) are the only control bytes a job holds.

Text is checked where it comes in too (app/domain/text_rules.py); this is the second
wall, for text stored before that rule and for whatever slips past it.
"""

from __future__ import annotations

from app.domain.text_rules import is_control

REPLACEMENT = "?"  # what a control character is printed as: visible, and never a command


def printable(text: str) -> str:
    """``text`` with every C0 and C1 control, DEL and lone surrogate replaced: a tab by a
    space, the others by ``?``. Line breaks are the renderer's to add, never the text's."""
    if not any(is_control(ch) for ch in text):
        return text
    return "".join((" " if ch == "\t" else REPLACEMENT) if is_control(ch) else ch for ch in text)


def barcode_data(text: str) -> str:
    """Data for a CODE128 (code set B) barcode: printable ASCII only, anything else ``?``."""
    return "".join(ch if " " <= ch <= "~" else REPLACEMENT for ch in text)
