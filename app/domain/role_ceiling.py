"""A terminal's role ceiling: the most senior role that may work on it.

A terminal is a device, not a person: its token proves which till speaks, not who
stands at it. Each terminal is enrolled with a ceiling (a shop-floor till: manager;
the back-office PC: owner) and the server refuses any pushed operation whose actor,
or whose named approver, holds a role above it. Roles rank owner > admin > manager >
cashier, stock; cashier and stock are side by side, neither above the other (a
manager till takes managers, cashiers and stock staff; a cashier till cashiers only).
"""

from __future__ import annotations

from app.domain.permissions import Role

DEFAULT_CEILING = Role.MANAGER
RANK: dict[Role, int] = {Role.OWNER: 4, Role.ADMIN: 3, Role.MANAGER: 2, Role.CASHIER: 1,
                         Role.STOCK: 1}


def within_ceiling(role: Role | str, ceiling: Role | str) -> bool:
    """Whether a person of ``role`` may work on a terminal whose ceiling is ``ceiling``."""
    r, c = Role(role), Role(ceiling)
    return r == c or RANK[r] < RANK[c]


def _article(role: Role | str) -> str:
    return "an" if str(Role(role).value)[0] in "aeiou" else "a"


def ceiling_refusal(name: str, role: Role | str, ceiling: Role | str) -> str:
    """Why ``name`` may not work on this terminal, in words."""
    r, c = Role(role).value, Role(ceiling).value
    return f"{name} is {_article(r)} {r}; this till takes up to {c}"
