"""Phone numbers typed in local or international form are the same number for look-up
(app/domain/phone.py): "0612 345 678" and "+31 6 12345678" in a Dutch store."""

import pytest

from app.domain.phone import country_of_locale, equivalent_forms, looks_like_phone, normalise


@pytest.mark.parametrize(("typed", "country", "e164"), [
    ("0612 345 678", "NL", "+31612345678"), ("+31 6 12345678", "NL", "+31612345678"),
    ("0031 6 1234 5678", "NL", "+31612345678"), ("087 765 4321", "IE", "+353877654321"),
    ("+353 (0)87 765 4321", "IE", "+353877654321"), ("+353 87 765 4321", "NL", "+353877654321"),
    ("020 7946 0000", "GB", "+442079460000"),
])
def test_normalise(typed, country, e164):
    assert normalise(typed, country) == e164


def test_local_and_international_forms_are_equivalent():
    local, international = equivalent_forms("0612 345 678", "NL"), equivalent_forms("+31 6 12345678", "NL")
    assert set(local) == set(international)
    assert {"+31612345678", "0612345678", "0031612345678"} <= set(local)


def test_not_a_phone():
    assert normalise("Aoife", "IE") is None and not looks_like_phone("Aoife Byrne")
    assert looks_like_phone("0612 345 678") and looks_like_phone("+31 6 12345678")
    assert equivalent_forms("12", "IE") == []


def test_country_of_locale():
    assert country_of_locale("en_IE") == "IE" and country_of_locale("nl-NL") == "NL"
    assert country_of_locale("en") == "IE"  # the shop's default
