"""A full disk, said in words, and a warning before the disk is that full.

A till whose disk fills up must not show "Something went wrong": the cashier is told
the disk is full, that the sale on the screen is kept, and what to do. SQLite says
``database or disk is full`` (SQLITE_FULL) for the store and the print queue; files
written directly fail with ``OSError`` ENOSPC (or EDQUOT, a user's quota). Both are
recognised anywhere in an exception's chain (:func:`disk_full`), so the till's one
error path (ui/ops.py) and the command line can turn them into :class:`DiskFull`.
SQLite also answers "disk I/O error" when a write-ahead log or its shared-memory file
cannot grow: that counts as full when the data directory's disk has no room left.

:func:`space_warning` looks at the free space of the data directory's disk: the
status bar and ``tillsync status`` show it well before writes fail. It never blocks
a sale.
"""

from __future__ import annotations

import errno
import shutil
from dataclasses import dataclass
from pathlib import Path

SQLITE_FULL = 13
SQLITE_IOERR = 10
NO_ROOM_BYTES = 1024 * 1024  # an I/O error with less than this free is a full disk
FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
LOW_SPACE_BYTES = 500 * 1024 * 1024  # under this free: warn
LOW_SPACE_FRACTION = 0.05  # or under 5 % of the disk ...
FRACTION_APPLIES_BELOW = 2 * 1024 ** 3  # ... when that is also under 2 GB (a big disk is fine)


class DiskFull(RuntimeError):
    """The disk the till writes to is full. The message is written for the cashier."""


KEPT = "The sale on the screen is kept"


def full_message(where: Path | str | None = None, kept: str = KEPT) -> str:
    """What the cashier reads when a write failed for want of space; ``kept`` says what
    was not lost (by default: the sale on the screen, which stays in the cart)."""
    place = f" ({where})" if where else ""
    return (f"The disk of this till is full{place}: nothing more could be written. {kept}; "
            "free space on the disk (old files, the recycle bin) or call your support "
            "person, then try again.")


def _is_full(exc: BaseException, where: Path | str | None) -> bool:
    if isinstance(exc, DiskFull):
        return True
    if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
        return True
    code = getattr(exc, "sqlite_errorcode", None)  # sqlite3.Error (Python 3.11+)
    if not isinstance(code, int):
        return False
    if code & 0xFF == SQLITE_FULL:
        return True
    # A write-ahead log or its -shm file that cannot grow is a "disk I/O error"
    # (e.g. SQLITE_IOERR_SHMSIZE): full when the disk holding the file has no room left.
    space = space_of(Path(where)) if code & 0xFF == SQLITE_IOERR and where else None
    return space is not None and space.free < NO_ROOM_BYTES


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: SQLAlchemy's ``.orig``, ``__cause__``, ``__context__``."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen) or len(seen) > 20:
            continue
        seen.append(e)
        orig = getattr(e, "orig", None)
        todo.extend([orig if isinstance(orig, BaseException) else None,
                     e.__cause__, e.__context__])
    return seen


def disk_full(exc: BaseException, where: Path | str | None = None,
              kept: str = KEPT) -> DiskFull | None:
    """A :class:`DiskFull` in words when ``exc`` (or what it wraps) says the disk is full,
    else None. ``where`` names the place when the error itself does not."""
    for e in _chain(exc):
        if isinstance(e, DiskFull):
            return e
        if _is_full(e, where):
            filename = getattr(e, "filename", None) if isinstance(e, OSError) else None
            return DiskFull(full_message(filename or where, kept))
    return None


@dataclass(frozen=True)
class Space:
    free: int
    total: int

    @property
    def low(self) -> bool:
        if self.free < LOW_SPACE_BYTES:
            return True
        return self.free < self.total * LOW_SPACE_FRACTION and self.free < FRACTION_APPLIES_BELOW


def space_of(path: Path) -> Space | None:
    """Free and total bytes of the disk holding ``path`` (None when it cannot be read)."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None
    return Space(usage.free, usage.total)


def _size(n: int) -> str:
    return f"{n / 1024 ** 3:.1f} GB" if n >= 1024 ** 3 else f"{n // (1024 * 1024)} MB"


def space_warning(path: Path, space: Space | None = None) -> str | None:
    """The warning in words when the disk holding ``path`` is nearly full, else None."""
    space = space or space_of(path)
    if space is None or not space.low:
        return None
    percent = 100 * space.free / space.total if space.total else 0
    return (f"The disk of this till is nearly full: {_size(space.free)} free ({percent:.0f} %) "
            f"at {path}. Sales go on; free space soon or call your support person.")
