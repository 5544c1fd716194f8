"""``tillsync-server analytics rebuild|time-zone``: the rollups' admin commands."""

from __future__ import annotations

import argparse
from typing import Any

from server.analytics import rebuild, zones


def add_parser(add: Any) -> None:
    """Register ``analytics`` with the server CLI's ``add(name, fn, help)``."""
    p = add("analytics", cmd_analytics, "analytics rollups: rebuild them, set a store's zone")
    p.add_argument("action", choices=["rebuild", "time-zone"])
    p.add_argument("--org", help="rebuild: only this organization's stores (default all)")
    p.add_argument("--store", help="time-zone: the store")
    p.add_argument("--zone", help="time-zone: an IANA zone, e.g. Europe/Dublin")


def cmd_analytics(args: argparse.Namespace) -> int:
    from server.cli import SetupError, _session, _settings
    from server.errors import ApiError

    writer = _session(_settings(args))
    if args.action == "time-zone":
        if not args.store or not args.zone:
            raise SetupError("time-zone needs --store and --zone")
        with writer.begin() as session:
            zones.write_zone(session, args.store, args.zone)
        print(f"store {args.store}: figures counted in {args.zone}")
        return 0
    try:
        with writer.begin() as session:
            counted = rebuild.rebuild(session, args.org)
    except ApiError as exc:
        raise SetupError(exc.message) from exc
    print(f"analytics rebuilt from {counted} orders")
    return 0
