"""Whether a host is this machine only: the one rule the server (dev mode, open docs)
and the till (plain http allowed) decide by."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name, as given to ``--host`` or in a URL) is this
    machine only. ``0.0.0.0`` and ``::`` (every interface) and any other address or name
    are not."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
