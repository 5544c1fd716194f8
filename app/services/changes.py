"""What a service call changed, so screens refresh only what they show (Anki's OpChanges)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Changes:
    orders: bool = False
    catalog: bool = False
    stock: bool = False
    staff: bool = False
    outbox: bool = False
    conflicts: bool = False
    approvals: bool = False
