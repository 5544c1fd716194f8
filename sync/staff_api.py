"""Server calls a person makes at the till under their own sign-in, not the till's.

A terminal token proves which till speaks, never who stands at it (docs/security.md),
so the back office's endpoints (the quarantine, analytics) need the person's own staff
token: the till signs them in with the code and PIN they type (``POST /auth/login``,
sent with the till's terminal token, so lockout and the audit count this till as the
place), and uses that token for the calls that follow. The server checks the person's
permission on every call; nothing here decides who may do what.

Network only: the local store is not touched here (sync/rejected_actions.py writes the
till's side, sync/server_figures.py turns analytics answers into dashboard figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sync.client import SyncClient


class NotInQuarantine(LookupError):
    """The server holds no open quarantine entry for this operation of this till."""


@dataclass(frozen=True)
class StaffSession:
    """A person signed in at the server from this till: their access token and who."""

    token: str
    staff_id: str
    name: str
    role: str


class StaffApi:
    """The staff calls, over one SyncClient (the till's base URL, TLS trust and token)."""

    def __init__(self, client: SyncClient) -> None:
        self.client = client

    async def __aenter__(self) -> StaffApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def _as(self, who: StaffSession, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {who.token}"}
        return await self.client._request(method, path, headers=headers, **kw)

    async def sign_in(self, pin: str, *, code: str | None = None,
                      staff_id: str | None = None) -> StaffSession:
        """``POST /auth/login`` with a staff code (or id) and PIN, under the till's token."""
        body: dict[str, str] = {"pin": pin}
        if staff_id is not None:
            body["staff_id"] = staff_id
        else:
            body["code"] = code or ""
        pair = await self.client._request("POST", "/auth/login", json=body)
        person = pair.get("staff") or {}
        return StaffSession(str(pair["access_token"]), str(person.get("id", "")),
                            str(person.get("name", "")), str(person.get("role", "")))

    # -- the quarantine ------------------------------------------------------------
    async def quarantined(self, who: StaffSession, device_id: str, op_id: str) -> dict[str, Any]:
        """The open quarantine entry of this till's op ``op_id``, in one call
        (``GET /sync/quarantine?status=open&op_id=…&device_id=…``). The server answers
        only within the stores ``who`` may see to: one elsewhere is not found either."""
        rows = await self._as(who, "GET", "/sync/quarantine", params={
            "status": "open", "op_id": op_id, "device_id": device_id, "limit": 1})
        for row in rows:
            if row.get("op_id") == op_id and row.get("device_id") == device_id:
                return dict(row)
        raise NotInQuarantine("The server holds no open refusal of this operation any more "
                              "(resubmitted or dismissed from the back office?); the next sync "
                              "brings this till up to date")

    async def resubmit(self, who: StaffSession, quarantine_id: str) -> dict[str, Any]:
        """``POST /sync/quarantine/{id}/resubmit``: the server runs the op again, vouched
        for by ``who`` (no approver proof asked); the answer has its new ``result``."""
        return dict(await self._as(who, "POST", f"/sync/quarantine/{quarantine_id}/resubmit",
                                   json={}))

    async def dismiss(self, who: StaffSession, quarantine_id: str, reason: str) -> dict[str, Any]:
        """``POST /sync/quarantine/{id}/dismiss`` with the ``reason`` (1-500 characters):
        the entry is closed, nothing is applied; the server keeps who, when and why."""
        return dict(await self._as(who, "POST", f"/sync/quarantine/{quarantine_id}/dismiss",
                                   json={"reason": reason}))

    # -- analytics -----------------------------------------------------------------
    async def stores(self, who: StaffSession) -> list[dict[str, Any]]:
        """``GET /stores``: the organization's stores (id, name, ...)."""
        return list(await self._as(who, "GET", "/stores"))

    async def summary(self, who: StaffSession, date_from: date, date_to: date, *,
                      store_id: str | None = None, group: str = "day") -> dict[str, Any]:
        """``GET /analytics/summary`` of the stores ``who`` may read (or of one)."""
        return dict(await self._as(who, "GET", "/analytics/summary",
                                   params=_ask(date_from, date_to, store_id, group)))

    async def offline_orders(self, who: StaffSession, date_from: date, date_to: date, *,
                             store_id: str | None = None, group: str = "day") -> dict[str, Any]:
        """``GET /analytics/offline-orders``: orders by type (offline: tills; online: the
        back office) per period."""
        return dict(await self._as(who, "GET", "/analytics/offline-orders",
                                   params=_ask(date_from, date_to, store_id, group)))


def _ask(date_from: date, date_to: date, store_id: str | None, group: str) -> dict[str, str]:
    params = {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(), "group": group}
    if store_id:
        params["store_id"] = store_id
    return params
