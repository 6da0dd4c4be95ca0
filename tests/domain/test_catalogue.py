"""Catalogue look-ups as the sale screen uses them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from stdnum import ean

from kiosk.catalogue.barcode import BarcodeError
from kiosk.sale.basket import Basket
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
    code = till.db.execute_sql("SELECT code FROM barcode WHERE length(code) = 13 LIMIT 1").fetchone()[0]
    assert till.catalogue.by_code(code) is not None
    Article.update(archived=True).where(Article.id == Barcode.get_by_id(code).article_id).execute()
    assert till.catalogue.by_code(code) is None
    with pytest.raises(BarcodeError, match="clé de contrôle fausse.*scannez de nouveau"):
        till.catalogue.by_code(code[:-1] + str((int(code[-1]) + 1) % 10))


def _label(prefix: str, plu: str, value: int) -> str:
    stem = f"{prefix}{plu}{value:05d}"
    return stem + ean.calc_check_digit(stem)


def test_scale_labels_carry_weight_or_price(till: Till) -> None:
    """Default layouts 21PPPPPWWWWWC (weight in g) and 23PPPPPpppppC (price in cents), PLU = article number."""
    weighed = till.catalogue.resolve(_label("21", "00001", 1234))
    assert weighed is not None and weighed.article.sold_by_weight and weighed.weight == Decimal("1.234")
    priced = till.catalogue.resolve(_label("23", "00001", 456))
    assert priced is not None and priced.price == 456 and priced.article.id == weighed.article.id
    assert till.catalogue.resolve(_label("21", "99999", 500)) is None  # unknown PLU → unknown article

    basket = Basket()
    basket.add_article(weighed.article, weighed.weight)
    basket.add_article(priced.article, unit_cents=priced.price)
    assert [(line.qty, line.sold_by_weight) for line in basket.lines] == [
        (Decimal("1.234"), True),
        (1, False),
    ]
    assert basket.lines[1].amount == 456


def test_bad_scale_label_layout_is_named_by_config_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kiosk.config import ConfigError, load_config

    bad = tmp_path / "bad.toml"
    bad.write_text('[barcodes]\nscale_labels = ["21PPPPPWWWWWC", "210PPPPpppppC"]\n')
    with pytest.raises(ConfigError, match="barcodes.scale_labels : attendu une liste de formats"):
        load_config(bad)
