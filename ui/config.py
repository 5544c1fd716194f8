"""Terminal-local desktop settings (scanner timing, serial port) in a JSON file.

These belong to this till's hardware, not to the store, so they live next to the
store file in ``store.data_dir`` and never sync.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
SCANNER_FILE = "scanner.json"


@dataclass(frozen=True)
class ScannerConfig:
    """How to tell a keyboard-wedge scanner from a person typing, and the serial scanner."""

    wedge_enabled: bool = True
    max_interval_ms: int = 30  # keys closer together than this come from a scanner
    min_length: int = 4  # shorter bursts are typing
    prefix: str = ""  # characters the scanner sends before the code (stripped)
    suffix: str = ""  # characters it sends after the code (stripped)
    enter_terminates: bool = True  # the scanner ends each code with Enter
    serial_port: str = ""  # e.g. /dev/ttyACM0 or COM3; empty means none
    serial_baud: int = 9600


#: The settings file's format; ``version`` in the file (absent: 1, the first release's).
SCANNER_VERSION = 2


def _scanner_to_2(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 2: the file says its version; prefix/suffix are text (1 allowed null)."""
    for key in ("prefix", "suffix"):
        if raw.get(key) is None:
            raw[key] = ""
    return raw


#: One step per version, applied in order to an older file (tested on files saved by
#: earlier releases: tests/fixtures/releases/, tests/ui/test_settings_upgrades.py).
SCANNER_UPGRADES: tuple[tuple[int, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
    (2, _scanner_to_2),)


def upgrade_scanner(raw: dict[str, Any]) -> dict[str, Any]:
    """The saved settings brought to SCANNER_VERSION (a newer file is read as it is)."""
    found = int(raw.get("version", 1))
    for version, step in SCANNER_UPGRADES:
        if found < version:
            raw = step(dict(raw))
    raw["version"] = max(found, SCANNER_VERSION)
    return raw


def load_scanner(data_dir: Path) -> ScannerConfig:
    """The saved scanner settings, or the defaults if none are saved or the file is bad."""
    path = Path(data_dir) / SCANNER_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ScannerConfig()
    except (OSError, ValueError):
        log.warning("Ignoring unreadable scanner settings in %s", path)
        return ScannerConfig()
    if not isinstance(raw, dict):
        log.warning("Ignoring scanner settings that are not an object in %s", path)
        return ScannerConfig()
    raw = upgrade_scanner(raw)
    known = {f.name for f in fields(ScannerConfig)}
    return replace(ScannerConfig(), **{k: v for k, v in raw.items() if k in known})


def save_scanner(data_dir: Path, config: ScannerConfig) -> None:
    path = Path(data_dir) / SCANNER_FILE
    tmp = path.with_suffix(".tmp")
    doc = {"version": SCANNER_VERSION, **asdict(config)}
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    tmp.replace(path)
