"""Issue 21, defect 3: only real barcodes are product barcodes (docs/barcodes.md)."""

from __future__ import annotations

import pytest

from app.domain.barcode import BarcodeError, product_code, with_check_digit
from app.domain.product_rules import ProductFieldError, check_fields


@pytest.mark.parametrize(("typed", "stored"), [
    ("4006381333931", "4006381333931"),  # EAN-13
    ("036000291452", "0036000291452"),  # UPC-A, stored as its EAN-13
    ("96385074", "96385074"),  # EAN-8
    (with_check_digit("1540000000001"), with_check_digit("1540000000001")),  # GTIN-14
    ("2800001", "2800001"),  # a weighed item's lookup code (prefix 28, item 00001)
    ("2800001005329", "2800001005329"),  # a whole weighed-item label
    ("INA1B2C3D4E5", "INA1B2C3D4E5"),  # the catalog's own internal code
    ("TILL-7", "TILL-7"),
])
def test_these_are_barcodes(typed, stored):
    assert product_code(typed) == stored


@pytest.mark.parametrize("typed", [
    "1, 5x", "hello", "12345", "4006381333932", "2800001005322", "in-lower", "A B", "400638133393",
    "ABCDE-1", "-1",
])
def test_these_are_refused_with_words(typed):
    with pytest.raises(BarcodeError) as err:
        product_code(typed)
    assert typed.strip() in str(err.value)


def test_the_product_rules_refuse_text_as_a_barcode():
    with pytest.raises(ProductFieldError) as err:
        check_fields({"barcodes": ["4006381333931", "1, 5x"]})
    assert "1, 5x" in str(err.value) and "GTIN" in str(err.value)
