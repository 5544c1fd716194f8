"""Counts are said in words: singular for one, plural otherwise, never "(s)"."""

import pytest

from app.domain.words import count_of


@pytest.mark.parametrize(("n", "noun", "said"), [
    (0, "line", "0 lines"), (1, "line", "1 line"), (2, "conflict", "2 conflicts"),
    (1, "conflict", "1 conflict"), (3, "entry", "3 entries"), (1, "entry", "1 entry"),
    (2, "box", "2 boxes"), (1_200, "sale", "1,200 sales"), (2, "day", "2 days"),
    (2, "person", "2 people"), (2, "label", "2 labels"),
])
def test_count_of(n, noun, said):
    assert count_of(n, noun) == said
    assert "(s)" not in said


def test_irregular_given():
    assert count_of(2, "mouse", "mice") == "2 mice" and count_of(1, "mouse", "mice") == "1 mouse"
