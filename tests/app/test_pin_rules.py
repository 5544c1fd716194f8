"""PIN length by role (issue 12): approvers carry at least 6 digits, everyone at least 4."""

from __future__ import annotations

import pytest

from app.domain.permissions import Role
from app.domain.pin_rules import PinRuleError, check_pin, min_pin_length


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN, Role.OWNER])
def test_approvers_need_six_digits(role: Role) -> None:
    assert min_pin_length(role) == 6
    with pytest.raises(PinRuleError, match=f"A {role.value}'s PIN is at least 6 digits"):
        check_pin(role, "12345")
    check_pin(role, "123456")


@pytest.mark.parametrize("role", [Role.CASHIER, Role.STOCK])
def test_cashiers_and_stock_need_four(role: Role) -> None:
    assert min_pin_length(role) == 4
    check_pin(role, "1234")
    with pytest.raises(PinRuleError, match="at least 4 digits"):
        check_pin(role, "123")


@pytest.mark.parametrize("pin", ["12a456", "", "١٢٣٤٥٦", "123 456", "1234567890123"])
def test_digits_only_and_at_most_twelve(pin: str) -> None:
    with pytest.raises(PinRuleError):
        check_pin(Role.OWNER, pin)
    check_pin("owner", "123456789012")
