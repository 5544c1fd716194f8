"""The PyInstaller bundle builds and starts (slow: only with TILLSYNC_BUILD_BUNDLE=1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(os.environ.get("TILLSYNC_BUILD_BUNDLE") != "1",
                                reason="set TILLSYNC_BUILD_BUNDLE=1 to build the PyInstaller bundle")


def test_bundle_builds_and_runs_smoke(tmp_path):
    subprocess.run([sys.executable, "-m", "PyInstaller", "build.spec", "--noconfirm",
                    "--distpath", str(tmp_path / "dist"), "--workpath", str(tmp_path / "build")],
                   cwd=ROOT, check=True, timeout=1800)
    exe = tmp_path / "dist" / "tillsync" / "tillsync"
    env = os.environ | {"QT_QPA_PLATFORM": "offscreen", "TILLSYNC_KEY_PASSPHRASE": "bundle-smoke",
                        "TILLSYNC_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([str(exe), "run", "--smoke"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Cannot open file" not in result.stderr  # every icon was bundled
