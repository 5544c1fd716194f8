"""Counts in the shop's words: "1 line", "2 lines", "1 conflict" — never "1 line(s)".

Plain functions with no Qt, so the screens, the printed slips and the server's messages
say a count the same way.
"""

from __future__ import annotations

#: nouns whose plural is not the noun plus "s"
IRREGULAR = {"entry": "entries", "category": "categories", "quantity": "quantities",
             "delivery": "deliveries", "person": "people", "box": "boxes", "batch": "batches"}


def plural(noun: str) -> str:
    """The plural of a shop noun ("sale" -> "sales", "entry" -> "entries")."""
    if noun in IRREGULAR:
        return IRREGULAR[noun]
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def count_of(n: int, noun: str, many: str | None = None) -> str:
    """ "1 line", "0 lines", "1,200 lines"; ``many`` when the plural is irregular."""
    word = noun if n == 1 else (many or plural(noun))
    return f"{n:,} {word}"
