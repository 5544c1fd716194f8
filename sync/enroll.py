"""Enrolling this terminal with the central server using a one-time code.

The server answers with the terminal's id, its two-character device code, its store
and organization and a secret token. The token goes to the OS keyring
(sync/credentials.py); the rest goes into the Device row.

Why we refuse to enroll a terminal that already has orders: order references
(``GO-<code><counter>``) must be unique across all terminals without asking the
server, and the code part comes from enrollment. A fresh store uses the placeholder
code ``00``, which is also the code the server gives the *first* terminal of every
organization, so keeping old references would collide; rewriting them would break
receipts already printed and handed to customers (their barcode finds the order).
So the code has to change before the first order, and we check that *before* the
one-time code is spent. Likewise we check that the credential can be stored before
calling the server.

Why we adopt the server's device id: every pushed operation names its device, and
the server knows the terminal by the id it assigned. Operations still waiting in
the outbox (nothing has been pushed before enrollment) are re-labelled, keeping
their op_id and op_seq. The data key lives in the keyring under
``data-key/<device id>`` (app/store/keys.py), so it is copied to the new account
first; otherwise customer data would become unreadable on the next start.

The answer's ``store`` object (name, address, tax_id, currency, locale, tax_inclusive,
receipt_footer, version) fills the StoreSettings row, which takes the server's store
id (it is made if the local store has none); later edits arrive as ``store`` changes.

Why ``http://`` is refused for a server that is not this machine: the one-time code goes
out, and the terminal token (every later push) comes back, in clear, for anyone on the
shop's network to read and replay. Plain HTTP is accepted for a loopback server (the
demo, a test) and, when the admin says so with ``allow_insecure_http``
(``--allow-insecure-http``), for a trusted network; the refusal comes before any request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import keyring
import keyring.errors
from sqlalchemy import func, select, update

from app.domain.hosts import is_loopback
from app.domain.words import count_of
from app.services import till_ceiling
from app.store import keys
from app.store.local import LocalStore
from app.store.models import Device, Order, OutboxOperation, StockMovement
from sync import credentials
from sync.apply import update_store_settings
from sync.client import SyncClient, server_trust
from sync.state import CURSOR, set_state


class EnrollError(RuntimeError):
    """Enrollment refused or failed; the message tells the admin why."""


@dataclass(frozen=True)
class EnrollResult:
    device_id: str
    device_code: str
    store_id: str
    org_id: str
    store_name: str
    credential_source: str
    warning: str | None = None


INSECURE_FLAG = "--allow-insecure-http"


def check_server_url(server_url: str, allow_insecure_http: bool = False) -> str | None:
    """Raise EnrollError for a URL a till must not send its code and token to; returns
    a warning for plain HTTP the admin allowed. No request is made."""
    try:
        parts = urlsplit(server_url.strip())
        host = parts.hostname or ""
    except ValueError as exc:
        raise EnrollError(f"{server_url!r} is not a server URL: {exc}") from exc
    if parts.scheme not in ("https", "http") or not host:
        raise EnrollError(f"{server_url!r} is not a server URL; give one like "
                          "https://sync.example.com")
    if parts.scheme == "https" or is_loopback(host):
        return None
    if not allow_insecure_http:
        raise EnrollError(
            f"Refusing to enroll over plain http:// with {host}, which is not this machine: "
            "the enrollment code and the terminal token would cross the network unencrypted. "
            f"Use https:// (see docs/server-deploy.md), or pass {INSECURE_FLAG} if this "
            "network is trusted."
        )
    return (f"Enrolled over plain http:// with {host} ({INSECURE_FLAG}): the terminal token "
            "crosses the network unencrypted on every sync; move the server to https://.")


def check_can_enroll(store: LocalStore, passphrase: str | None = None) -> None:
    """Raise EnrollError if enrolling now would lose or clash with something."""
    device = store.device()
    if device.server_url:
        raise EnrollError(
            f"This terminal is already enrolled with {device.server_url} as device "
            f"{device.code}. Use a fresh data directory to enroll it again."
        )
    with store.db.read() as s:
        orders = s.scalar(select(func.count()).select_from(Order)) or 0
    if orders:
        raise EnrollError(
            f"This terminal already has {count_of(orders, 'order')} numbered with the placeholder device "
            f"code {device.code}. Enrolling changes the device code, so those references could "
            "clash with another terminal's. Enroll a terminal before its first sale (use a fresh "
            "data directory), or sync the orders from the terminal they belong to."
        )
    data_dir = store.data_dir
    file_mode = (data_dir / keys.KEY_FILE).exists()
    phrase = passphrase or os.environ.get(keys.PASSPHRASE_ENV)
    if (file_mode or not keys._keyring_usable()) and not phrase:
        raise EnrollError(
            "No OS keyring is available to keep the terminal credential; set "
            f"{keys.PASSPHRASE_ENV} (or --key-passphrase-file) first. See docs/terminal-setup.md."
        )


def _copy_data_key(store: LocalStore, old_id: str, new_id: str) -> None:
    if (store.data_dir / keys.KEY_FILE).exists() or not keys._keyring_usable():
        return  # the key-file fallback is not tied to the device id
    try:
        stored = keyring.get_password(keys.SERVICE, f"data-key/{old_id}")
        if stored:
            keyring.set_password(keys.SERVICE, f"data-key/{new_id}", stored)
    except keyring.errors.KeyringError as exc:
        raise EnrollError(f"Could not copy the data key in the keyring: {exc}") from exc


def adopt_identity(store: LocalStore, answer: dict, server_url: str, name: str) -> None:
    """Write the server-assigned identity into the local store in one transaction."""
    old_id, new_id = store.device_id, answer["device_id"]
    store_info = answer.get("store") or {}
    with store.db.write() as s:
        if new_id != old_id:
            s.execute(update(Device).where(Device.id == old_id).values(id=new_id))
            s.execute(update(OutboxOperation).where(OutboxOperation.device_id == old_id)
                      .where(OutboxOperation.status == "pending").values(device_id=new_id))
            s.execute(update(StockMovement).where(StockMovement.device_id == old_id)
                      .values(device_id=new_id))
        device = s.get(Device, new_id)
        assert device is not None
        device.code = answer["device_code"]
        device.store_id = answer["store_id"]
        device.org_id = answer["org_id"]
        device.server_url = server_url
        device.name = name
        device.enrolled_at = datetime.now(UTC)
        update_store_settings(s, answer["store_id"], store_info, store_info.get("version"))
        set_state(s, CURSOR, "0")
        if answer.get("max_role"):  # servers before role ceilings send none: see pull
            till_ceiling.store_ceiling(s, answer["max_role"])
    store.device_id = new_id


async def enroll(
    store: LocalStore,
    server_url: str,
    code: str,
    name: str | None = None,
    *,
    passphrase: str | None = None,
    client: SyncClient | None = None,
    allow_insecure_http: bool = False,
) -> EnrollResult:
    """Spend ``code`` at ``server_url`` and make this terminal the device it names."""
    warning = check_server_url(server_url, allow_insecure_http)
    check_can_enroll(store, passphrase)
    server_url = server_url.rstrip("/")
    name = name or store.device().name or "Till"
    own = client is None
    client = client or SyncClient(server_url, verify=server_trust(store.data_dir))
    try:
        answer = await client.enroll(code, name)
    finally:
        if own:
            await client.aclose()
    old_id = store.device_id
    cred = credentials.TerminalCredential(answer["device_id"], answer["terminal_token"], server_url)
    source = credentials.save(store.data_dir, cred, passphrase)
    _copy_data_key(store, old_id, answer["device_id"])
    adopt_identity(store, answer, server_url, name)
    return EnrollResult(
        device_id=answer["device_id"], device_code=answer["device_code"],
        store_id=answer["store_id"], org_id=answer["org_id"],
        store_name=(answer.get("store") or {}).get("name", ""), credential_source=source,
        warning=warning,
    )
