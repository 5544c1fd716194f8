"""A real small disk for the disk-full tests: a tmpfs of a few MB mounted for one test.

Mounting needs root (the CI and the developers' machines run as root); elsewhere the
tests that need it skip, and the SQLite ``max_page_count`` tests still make SQLite's
own "database or disk is full" error.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(where: Path, size_mb: int) -> Iterator[Path]:
    """A tmpfs of ``size_mb`` MB mounted at ``where`` while the block runs."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs",
                           str(where)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, leave_bytes: int = 0) -> Path:
    """Write a filler file until the disk holds no more (ENOSPC), then give back
    ``leave_bytes``; returns the filler (delete it to free the space)."""
    filler = disk / "filler.bin"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as fh:
        try:
            while fh.write(chunk):
                pass
        except OSError:
            pass
    if leave_bytes:
        os.truncate(filler, max(0, filler.stat().st_size - leave_bytes))
    return filler
