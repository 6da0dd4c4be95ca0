"""Catalogue look-ups as the sale screen uses them."""

from __future__ import annotations

import pytest
from stdnum import ean

from drivers.barcode import BarcodeError
from kiosk.store import Article, Barcode
from kiosk.till import Till


def test_code_finds_by_barcode_upc_form_and_reference(till: Till) -> None:
    article = Article.select().where(Article.reference == "BOUL-001").get()
    upc = "03600029145" + ean.calc_check_digit("03600029145")  # 12 digits, stored as its EAN-13 form
    Barcode.create(code="0" + upc, article=article)
    by_upc = till.catalogue.by_code(upc)
    by_ref = till.catalogue.by_code("BOUL-001")
    assert by_upc is not None and by_upc.id == article.id and by_upc.barcode == "0" + upc
    assert by_ref is not None and by_ref.id == article.id and by_ref.barcode is None
    assert by_ref.category == article.category.key and by_ref.price_cents == article.price_cents
    assert till.catalogue.by_code("NOPE-999") is None


def test_archived_article_is_not_found_and_misread_code_says_what_to_do(till: Till) -> None:
    code = till.db.execute_sql("SELECT code FROM barcode LIMIT 1").fetchone()[0]
    assert till.catalogue.by_code(code) is not None
    Article.update(archived=True).where(Article.id == Barcode.get_by_id(code).article_id).execute()
    assert till.catalogue.by_code(code) is None
    with pytest.raises(BarcodeError, match="clé de contrôle fausse.*scannez de nouveau"):
        till.catalogue.by_code(code[:-1] + str((int(code[-1]) + 1) % 10))
