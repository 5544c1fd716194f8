"""The product field rules shared by the terminal's catalog editor and the server."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.product_rules import (
    ProductFieldError,
    barcode_taken,
    check_fields,
    check_product,
    code_spellings,
    sku_taken,
    stored_form,
)


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
    ("sku", "S" * 65, r"SKU is too long \(65 characters; at most 64\)"),
    ("name", "N" * 201, r"Name is too long \(201 characters; at most 200\)"),
    ("category", "C" * 101, r"Category is too long"),
    ("barcodes", ["1" * 65], "is too long"),
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


def test_the_product_an_edit_makes_is_checked_too() -> None:
    current = {"id": "p1", "sku": "TEA-1", "name": "Tea", "price": -100, "tax_rate_ppm": 0,
               "barcodes": ["4006381333932"]}  # stored before the rules: bad price, bad code
    with pytest.raises(ProductFieldError) as exc:
        check_product({"name": "Green tea"}, current)
    assert (str(exc.value), exc.value.field) == (
        "Price cannot be negative (the product's current price; correct it in the same edit)",
        "price")
    # corrected in the same edit; the old code is not judged until the barcodes change
    assert check_product({"price": 100}, current) == {"price": 100}
    with pytest.raises(ProductFieldError, match="wrong check digit"):
        check_product({"price": 100, "barcodes": ["4006381333932"]}, current)


def test_the_messages_for_a_value_of_another_product() -> None:
    taken = barcode_taken("5901234123457", "Strawberry jam", "JAM-1")
    assert (str(taken), taken.field) == (
        "Barcode 5901234123457 already belongs to another product: Strawberry jam (SKU JAM-1)",
        "barcodes")
    sku = sku_taken("JAM-1", "Strawberry jam")
    assert (str(sku), sku.field) == (
        "SKU JAM-1 already exists on another product: Strawberry jam", "sku")


def test_codes_are_looked_up_in_both_spellings() -> None:
    assert stored_form(" 036000291452 ") == "0036000291452"
    assert stored_form("4006381333932") == "4006381333932"  # stored before the rules: as is
    assert code_spellings(["0036000291452", "ABC-1"]) == {"0036000291452", "036000291452", "ABC-1"}
