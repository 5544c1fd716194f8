"""Reading a hash chain back: the first entry that breaks it, and what happened to it.

The till's audit log and the server's journal are both chains: each entry names the
hash of the one before it and carries the hash of its own content with that name.
This module is the one reading of such a chain, shared by both sides, in shop words:
an entry was **edited** (its content no longer gives its hash, or it was rewritten
with a new hash the next entry does not name), **removed** (a number is missing, or
the head names entries that are gone), **inserted** (nothing follows it and the next
entry follows the one before it, or it lies beyond the recorded head) or
**reordered** (it names the hash of an entry that is not the one before it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

GENESIS = "0" * 64

EDITED, REMOVED, INSERTED, REORDERED = "edited", "removed", "inserted", "reordered"


@dataclass(frozen=True)
class Link:
    """One entry as read back: its number in the chain, the hash it names, its own
    stored hash, and whether its content still gives that hash."""

    position: int
    prev_hash: str
    hash: str
    intact: bool
    missing: bool = False  # the chain names it but its row is gone (server journal)
    #: its content hashed at another entry's place (to find content moved there)
    rehash: Callable[[Link], str] | None = None


@dataclass(frozen=True)
class Break:
    """The first place the chain does not hold."""

    position: int
    kind: str  # EDITED, REMOVED, INSERTED or REORDERED
    detail: str
    label: str | None = None  # how to name it when it has no place ("audit row 17")

    def __str__(self) -> str:
        return f"{self.label or f'entry {self.position}'}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Head:
    """What the chain's owner recorded as its last entry (the till's device row, the
    server's chain-head row)."""

    position: int
    hash: str


def first_break(links: Sequence[Link], head: Head | None = None, start: str = GENESIS,
                first_position: int = 1) -> Break | None:
    """The first entry of ``links`` (in chain order) that breaks the chain, or None."""
    followed = {link.prev_hash for link in links}
    index_of = {link.hash: i for i, link in enumerate(links)}
    prev, expected = start, first_position
    for i, link in enumerate(links):
        if link.prev_hash == prev and link.intact and not link.missing \
                and link.position == expected:
            prev, expected = link.hash, link.position + 1
            continue
        return _classify(links, i, prev, expected, head, followed, index_of)
    return _check_head(links, head, expected - 1, prev)


def _classify(links: Sequence[Link], i: int, prev: str, expected: int, head: Head | None,
              followed: set[str], index_of: dict[str, int]) -> Break:
    link = links[i]
    nxt = links[i + 1] if i + 1 < len(links) else None
    if link.missing:
        return Break(link.position, REMOVED, "the journal names this entry but its row is gone")
    if head is not None and link.position > head.position:
        return Break(link.position, INSERTED,
                     f"it lies after the last entry recorded in the head ({head.position})")
    if link.hash not in followed and nxt is not None and nxt.prev_hash == prev:
        return Break(link.position, INSERTED,
                     "it is not part of the chain: the entry after it follows the one before it")
    if link.prev_hash != prev:
        j = index_of.get(link.prev_hash)
        if j is not None and j != i - 1:
            return Break(link.position, REORDERED,
                         f"it follows entry {links[j].position}, not the entry before it")
        if link.position > expected:
            missing = (f"entry {expected} is" if link.position == expected + 1
                       else f"entries {expected} to {link.position - 1} are")
            return Break(expected, REMOVED, f"{missing} missing before entry {link.position}")
        if link.intact and i > 0:
            return Break(links[i - 1].position, EDITED,
                         "it was rewritten: the entry after it names another hash")
        return Break(link.position, EDITED, "it no longer names the hash of the entry before it")
    if link.position != expected:
        return Break(link.position, EDITED, f"numbered {link.position} where {expected} belongs")
    moved = _moved_to(links, i)
    if moved is not None:
        return Break(link.position, REORDERED,
                     f"it holds the content recorded as entry {moved}")
    return Break(link.position, EDITED, "its content does not match its hash")


def _moved_to(links: Sequence[Link], i: int) -> int | None:
    """The position whose recorded hash this entry's content gives (content swapped)."""
    rehash = links[i].rehash
    if rehash is None:
        return None
    for j, other in enumerate(links):
        if j != i and rehash(other) == other.hash:
            return other.position
    return None


def _check_head(links: Sequence[Link], head: Head | None, last: int, last_hash: str
                ) -> Break | None:
    if head is None or (head.position == last and head.hash == last_hash):
        return None
    if head.position > last:
        missing = (f"entry {head.position} is" if head.position == last + 1
                   else f"entries {last + 1} to {head.position} are")
        return Break(last + 1, REMOVED, f"{missing} missing from the end (the head names "
                                        f"{head.position})")
    if head.position < last:
        return Break(head.position + 1, INSERTED,
                     f"it lies after the last entry recorded in the head ({head.position})")
    return Break(last, EDITED, "the head names another hash for the last entry")
