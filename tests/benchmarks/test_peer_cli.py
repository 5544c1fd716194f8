"""benchmarks.peer's command line and its skip path (nothing timed here: the benchmark's
numbers are read from its own output, never asserted in a test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import peer
from benchmarks.peer_setup import PRODUCT_CHANGES, SALE_CHANGES, mix_for

JS = Path(peer.__file__).parent / "peer_js"


def test_defaults_are_the_issues_workloads() -> None:
    args = peer.parse([])
    assert (args.rounds, args.changes, args.sales) == (3, 100_000, 10_000)
    assert args.workload == "both" and not args.pg and args.tillsync_sync == "full"
    assert args.page is None and args.pouch_batch_size is None


def test_options_are_read_and_nonsense_refused() -> None:
    args = peer.parse(["--pg", "--tillsync-sync", "normal", "--rounds", "5", "--page", "1000",
                       "--pouch-batch-size", "500", "--workload", "push"])
    assert args.pg and args.tillsync_sync == "normal" and args.rounds == 5
    assert (args.page, args.pouch_batch_size, args.workload) == (1000, 500, "push")
    for bad in (["--rounds", "0"], ["--tillsync-sync", "off"], ["--changes", "10"]):
        with pytest.raises(SystemExit):
            peer.parse(bad)


def test_the_systems_alternate_round_by_round() -> None:
    assert [peer.order_of(n)[0] for n in range(1, 5)] == [
        "tillsync", "pouchdb", "tillsync", "pouchdb"]


def test_the_feed_mix_comes_to_the_changes_asked() -> None:
    products, sales = mix_for(100_000)
    assert sales == 10_000
    assert abs(products * PRODUCT_CHANGES + sales * SALE_CHANGES - 100_000) < 100


def test_without_node_it_says_skip_and_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a folder with no node and no npm in it
    assert peer.main(["--rounds", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SKIP: benchmarks.peer needs Node.js and npm")
    assert "node and npm not found" in out and "Nothing was measured" in out


def test_the_peer_versions_are_pinned_by_the_lock() -> None:
    lock = json.loads((JS / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/pouchdb-node"]["version"] == "9.0.0"
    assert lock["packages"]["node_modules/pouchdb-server"]["version"] == "4.2.0"
