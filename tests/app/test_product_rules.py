"""The product field rules shared by the terminal's catalog editor and the server."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.product_rules import ProductFieldError, check_fields


@pytest.mark.parametrize(("field", "value", "message"), [
    ("sku", "  ", "SKU is required"),
    ("name", "", "Name is required"),
    ("name", None, "Name is required"),
    ("price", -1, "Price cannot be negative"),
    ("price", 2.5, "Price must be a whole number of cents"),
    ("price", "350", "Price must be a whole number of cents"),
    ("price", True, "Price must be a whole number of cents"),
    ("tax_rate_ppm", 1_000_001, "Tax rate must be between 0% and 100%"),
    ("tax_rate_ppm", -1, "Tax rate must be between 0% and 100%"),
    ("category", 7, "Category must be text"),
    ("barcodes", ["4006381333932"], "wrong check digit"),
    ("barcodes", "4006381333931", "Barcodes must be a list of codes"),
    ("active", "yes", "Active must be yes or no"),
    ("reorder_level_milli", 1.5, "Reorder level must be a whole number"),
    ("colour", "red", "Not a product field: colour"),
])
def test_each_bad_value_is_refused_with_a_message_naming_it(field: str, value: Any,
                                                             message: str) -> None:
    with pytest.raises(ProductFieldError, match=message):
        check_fields({field: value})


def test_good_values_pass_as_stored() -> None:
    good = {"sku": "TEA-1", "name": "Tea", "category": None, "price": 0, "tax_rate_ppm": 1_000_000,
            "active": False, "stock_tracked": True, "sold_by_weight": False,
            "reorder_level_milli": 2000, "barcodes": ["036000291452"]}
    assert check_fields(good) == good | {"barcodes": ["0036000291452"]}  # UPC-A as EAN-13
    assert check_fields({}) == {}
