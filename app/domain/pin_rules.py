"""How long a PIN must be, by role: one rule for the till and the server.

A till keeps every staff member's PIN hash to sign people in offline, so a stolen till
can guess a 4-digit PIN in minutes (docs/security.md). Those who approve deletions,
refunds and price changes, or manage staff, carry longer PINs: a manager's, admin's or
owner's PIN is at least 6 digits; a cashier's or stock person's at least 4. No PIN is
longer than 12 digits.
"""

from __future__ import annotations

from app.domain.permissions import Role

MIN_PIN = 4
MIN_APPROVER_PIN = 6
MAX_PIN = 12
APPROVER_ROLES = frozenset({Role.MANAGER, Role.ADMIN, Role.OWNER})


class PinRuleError(ValueError):
    """A PIN that breaks the rule; the message is shown to the person as is."""


def min_pin_length(role: Role | str) -> int:
    """The fewest digits a PIN of ``role`` may have."""
    return MIN_APPROVER_PIN if Role(role) in APPROVER_ROLES else MIN_PIN


def check_pin(role: Role | str, pin: str) -> None:
    """Raise PinRuleError, in words, when ``pin`` is not a PIN a ``role`` may have."""
    r = Role(role)
    if not pin.isascii() or not pin.isdigit():
        raise PinRuleError("A PIN is digits only")
    shortest = min_pin_length(r)
    if len(pin) < shortest:
        if r in APPROVER_ROLES:
            raise PinRuleError(f"A {r.value}'s PIN is at least {shortest} digits "
                               f"(it approves deletions and refunds)")
        raise PinRuleError(f"A PIN is at least {shortest} digits")
    if len(pin) > MAX_PIN:
        raise PinRuleError(f"A PIN is at most {MAX_PIN} digits")
