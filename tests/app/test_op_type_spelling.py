"""No operation type is spelled as a string outside the catalogue (issue 13).

The catalogue (app/domain/operations.py) is the one place that spells ``"order.create"``
and its siblings; everything else names ``OpType.ORDER_CREATE`` or asks the catalogue.
``NOT_YET`` lists the files still to convert: a ratchet. The test fails when a file not
on the list spells a type (a new string crept in) and when a listed file no longer does
(take it off the list), so the list only shrinks.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.domain.operations import OpType

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "sync", "server", "ui", "printing")
#: Where the same words mean something else: permission actions (app/domain/permissions.py
#: ``Action.ORDER_DELETE = "order.delete"`` is the permission, not the operation).
OTHER_VOCABULARIES = {"app/domain/permissions.py"}
NOT_YET: set[str] = set()
SPELLED = re.compile("[\"'](" + "|".join(re.escape(t.value) for t in OpType) + ")[\"']")
PREFIX = re.compile(r"startswith\(\(?[\"'](order|payment|refund|approval|stock|product|"
                    r"customer|conflict)\.[\"']")


def spelling_files() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "app/domain/operations.py" or rel in OTHER_VOCABULARIES:
                continue
            if "/migrations/" in rel:
                continue  # a migration is history: it keeps the words of its day
            text = path.read_text(encoding="utf-8")
            if SPELLED.search(text) or PREFIX.search(text):
                found.add(rel)
    return found


def test_no_new_file_spells_an_operation_type() -> None:
    extra = spelling_files() - NOT_YET
    assert not extra, (f"{sorted(extra)} spell an operation type as a string: use OpType "
                       "or the catalogue (app/domain/operations.py)")


def test_the_not_yet_list_only_shrinks() -> None:
    done = NOT_YET - spelling_files()
    assert not done, f"{sorted(done)} no longer spell an operation type: take them off NOT_YET"
