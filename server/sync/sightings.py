"""Who was seen working on which till, and the ``unverified_approval`` flag.

A till's token proves which till speaks, not who stands at it (docs/security.md). The
server keeps, per terminal, the staff members seen working on it: an ordinary op pushed
from it in their name, or an online sign-in that carried its terminal token
(:func:`record_sign_in`). A privileged op — a deletion, a refund, an approval decision,
a conflict resolution, a price change — whose approver (``approved_by`` when the payload
names one, else the actor) was never seen on that till before is applied as usual and
flagged ``unverified_approval``, with an audit entry ``approval.unverified``.

Privileged ops do not count as being seen, or one forged approval would clear the next.
This is a pattern flag, not proof: the proof is server/sync/proofs.py, and an op whose
proof could not be checked (no key yet) or, under the ``flag`` policy, did not hold is
flagged here too.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.domain import approval_proof
from app.domain.operations import Entity
from server.context import TerminalPrincipal
from server.db.base import utcnow
from server.db.tenancy import TerminalStaff
from server.sync.common import OpContext, Outcome
from server.sync.proofs import Proof
from sync.protocol import Operation

FLAG = "unverified_approval"
_KEY = "tillsync_terminal_staff_seen"


def approver_of(op: Operation) -> str | None:
    """The staff id whose approval a privileged op carries; None for an ordinary op
    (one rule with the till's: app/domain/approval_proof.py)."""
    return approval_proof.approver_of(op.type.value, op.payload, op.actor_id)


def _known(session: Session) -> dict[tuple[str, str], bool]:
    """What this transaction knows of terminal_staff (dropped with a rolled-back one)."""
    tx = session.get_transaction()
    cached = session.info.get(_KEY)
    if cached is None or cached[0] is not tx:
        cached = (tx, {})
        session.info[_KEY] = cached
    known: dict[tuple[str, str], bool] = cached[1]
    return known


def seen(session: Session, terminal_id: str, staff_id: str) -> bool:
    """Whether ``staff_id`` was seen working on ``terminal_id``."""
    known = _known(session)
    key = (terminal_id, staff_id)
    if key not in known:
        known[key] = session.scalar(select(TerminalStaff.via).where(
            TerminalStaff.terminal_id == terminal_id,
            TerminalStaff.staff_id == staff_id)) is not None
    return known[key]


def note_seen(session: Session, terminal_id: str, staff_id: str, via: str = "op") -> None:
    """Remember that ``staff_id`` worked on ``terminal_id`` (once per transaction)."""
    known = _known(session)
    key = (terminal_id, staff_id)
    if known.get(key):
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(TerminalStaff).values(
        terminal_id=terminal_id, staff_id=staff_id, via=via, first_seen_at=utcnow(),
    ).on_conflict_do_nothing())
    known[key] = True


def record_sign_in(session: Session, terminal: TerminalPrincipal | None, staff_id: str,
                   staff_org_id: str) -> None:
    """An online sign-in of ``staff_id`` that carried ``terminal``'s token: the person
    is seen on that till (a till of another organization is ignored). For
    server/auth/service.py ``login`` to call when a sign-in succeeds."""
    if terminal is None or terminal.terminal_id is None or terminal.org_id != staff_org_id:
        return
    note_seen(session, terminal.terminal_id, staff_id, via="sign_in")


_WHY = {
    Proof.NO_KEY: "a privileged operation whose approver has no approval key on the server "
                  "yet (their PIN not seen since the upgrade): it could not be checked",
    Proof.BAD: "a privileged operation with a missing or wrong approver proof, applied "
               "under the flag policy",
}


def after_apply(oc: OpContext, outcome: Outcome, proof: Proof = Proof.NOT_NEEDED) -> None:
    """After an op of a till applied: an ordinary op marks its actor seen; a privileged
    one is flagged and audited when its proof could not be checked or did not hold
    (``proof``, server/sync/proofs.py), or when its approver was never seen on this till."""
    terminal_id = oc.terminal.terminal_id
    if terminal_id is None:  # a back-office change, made with the person's own sign-in
        return
    approver = approver_of(oc.op)
    if approver is None:
        note_seen(oc.session, terminal_id, oc.actor.id)
        return
    why = _WHY.get(proof)
    if why is None:
        if seen(oc.session, terminal_id, approver):
            return
        why = "a privileged operation approved by someone never seen working on this till"
    if FLAG not in outcome.flags:
        outcome.flags.append(FLAG)
    oc.audit(Entity.STAFF, approver, "approval.unverified",
             {"op_id": oc.op.op_id, "type": oc.op.type.value, "entity_id": oc.op.entity_id,
              "device_id": terminal_id}, reason=why)
