"""The till's journal against what the server's journal holds of it (docs/journal.md):
every chain head the till pushed since its last restore, each compared with the till's
own entry at that seq (a prefix rewritten before a later push differs at an older head)."""

from __future__ import annotations

from dataclasses import dataclass

from app.services.journal import compare_with_server
from app.store.local import LocalStore
from sync.service import client_factory_for


@dataclass(frozen=True)
class ServerComparison:
    seq: int | None  # the entry the server vouches for (None: it holds none yet)
    problem: str | None

    def summary(self) -> str:
        if self.seq is None:
            return "The server's journal holds no entry of this till yet"
        if self.problem is None:
            return f"The server's journal vouches for this till's journal up to entry {self.seq}"
        return f"The till's journal differs from the server's: {self.problem}"


async def compare_with_server_journal(store: LocalStore, passphrase: str | None = None,
                                      timeout: float = 10.0) -> ServerComparison:
    """Ask the server for the head it recorded and compare (NotEnrolled, TransientError
    and PermanentError pass through)."""
    client = client_factory_for(store, passphrase, timeout=timeout)()
    try:
        answer = await client.journal_head()
    finally:
        await client.aclose()
    if not answer.get("recorded"):
        return ServerComparison(None, None)
    held = [(int(h["seq"]), str(h["hash"])) for h in answer.get("heads") or []]
    held = held or [(int(answer["seq"]), str(answer["hash"]))]  # a server before the list
    for seq, digest in held:  # each head since the last restore: the first that differs
        problem = compare_with_server(store, seq, digest)
        if problem is not None:
            return ServerComparison(seq, problem)
    return ServerComparison(int(answer["seq"]), None)
