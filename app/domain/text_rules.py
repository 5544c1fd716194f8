"""What a stored text may hold: no control characters, no lone surrogates, a length limit.

A text that reaches a receipt printer, a label printer or a spreadsheet must never be a
command there. Control characters are refused where a text comes in (the till's editor
and CSV import, the server's push and back office), and the printers escape what they
print anyway (printing/escape.py) for text stored before this rule.

Refused: every C0 control (U+0000 to U+001F, tab and line breaks included: none of the
fields this guards is a multi-line text), DEL (U+007F), every C1 control (U+0080 to
U+009F) and lone surrogates (U+D800 to U+DFFF, which are not text: they cannot be
written as UTF-8). Each message names the field and the character, as the person who
typed or imported the value needs it.
"""

from __future__ import annotations

from typing import Any


class TextError(ValueError):
    """A text value the rules do not allow; the message names the field."""


def is_control(ch: str) -> bool:
    """Whether ``ch`` is a C0 or C1 control, DEL or a lone surrogate."""
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def first_control(value: str) -> str | None:
    """The first character of ``value`` that :func:`is_control`, or None."""
    return next((ch for ch in value if is_control(ch)), None)


def describe(ch: str) -> str:
    """'a control character (U+001B)' or 'a lone surrogate (U+D800)'."""
    kind = "a lone surrogate" if 0xD800 <= ord(ch) <= 0xDFFF else "a control character"
    return f"{kind} (U+{ord(ch):04X})"


def check_clean(label: str, value: str) -> str:
    """``value`` unchanged, or TextError naming ``label`` and the first control character."""
    bad = first_control(value)
    if bad is not None:
        raise TextError(f"{label} contains {describe(bad)}; remove it")
    return value


def too_long(label: str, value: str | None, longest: int) -> str | None:
    """Words for a ``value`` longer than ``longest`` characters (None if it fits): a
    payload model bounds the field, and a person hears it before the model refuses it."""
    if value is not None and len(value) > longest:
        return f"{label} is too long ({len(value):,} characters; at most {longest:,})"
    return None


def check_text(label: str, value: Any, longest: int) -> str:
    """``value`` if it is text of at most ``longest`` characters with no control
    character; otherwise TextError, whose message names ``label``."""
    if not isinstance(value, str):
        raise TextError(f"{label} must be text")
    if len(value) > longest:
        raise TextError(f"{label} is too long ({len(value)} characters; at most {longest})")
    return check_clean(label, value)
