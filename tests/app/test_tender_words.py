"""The tender rule shared by the till, the push and the back office (app/domain/tender.py):
only cash may be more than the balance due, and one wording for the refusal, given a
Method or its text as a payment's ``method`` holds it."""

from __future__ import annotations

import pytest

from app.domain.tender import (
    CASH,
    Method,
    Tender,
    TenderError,
    apply_tenders,
    may_exceed_balance,
    over_balance_message,
)


def test_only_cash_may_exceed_the_balance() -> None:
    assert CASH == "cash" == Method.CASH
    assert [m.value for m in Method if may_exceed_balance(m)] == [CASH]
    assert [m for m in ("cash", "card", "other") if may_exceed_balance(m)] == ["cash"]


@pytest.mark.parametrize("method", [Method.CARD, Method.OTHER])
def test_the_refusal_reads_the_same_from_a_method_or_its_text(method: Method) -> None:
    words = f"A {method.value} payment cannot be more than the balance due"
    assert over_balance_message(method) == over_balance_message(method.value) == words
    with pytest.raises(TenderError) as refused:
        apply_tenders(500, [Tender(method, 600)])
    assert str(refused.value) == words
