"""Whether requirements*.lock still pin every dependency pyproject.toml names.

Exit 0 when they do; otherwise print what is missing (run scripts/lock) and exit 1.
Used by scripts/setup.sh (which then installs the missing ones from PyPI so the
set-up still works) and scripts/audit (which fails: the lock must be regenerated).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements: list[str]) -> set[str]:
    return {_norm(m.group()) for r in requirements if (m := re.match(r"[A-Za-z0-9_.\-]+", r))}


def _pinned(lock: Path) -> set[str]:
    return {_norm(n) for n in re.findall(r"^([A-Za-z0-9_.\-]+)==", lock.read_text(), re.M)}


def missing() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _names(project["dependencies"])
    dev = runtime | _names(project.get("optional-dependencies", {}).get("dev", []))
    problems = []
    for lock, wanted in (("requirements.lock", runtime), ("requirements-dev.lock", dev)):
        path = ROOT / lock
        lacking = sorted(wanted - _pinned(path)) if path.exists() else ["(no lock file)"]
        if lacking:
            problems.append(f"{lock} lacks {', '.join(lacking)}")
    return problems


if __name__ == "__main__":
    problems = missing()
    if problems:
        print("lock files behind pyproject.toml: " + "; ".join(problems) + " -- run scripts/lock",
              file=sys.stderr)
        sys.exit(1)
