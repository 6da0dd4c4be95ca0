"""Invariants of the demo shop catalogue (kiosk/demo/catalogue_data.py)."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pytest
from stdnum import ean

from kiosk.demo import catalogue_data as demo_catalogue
from kiosk.demo.catalogue_data import ARTICLES, CATEGORIES, DemoArticle, DemoCategory

ALLOWED_VAT_BP = {550, 1000, 2000, 210}
ALLOWED_FLAGS = {"meal_voucher", "no_loyalty", "book", "alcohol"}
# Categories whose articles may be made on site and sold at the counter without barcode.
COUNTER_CATEGORIES = {"boulangerie", "viennoiserie", "patisserie", "traiteur"}

CATEGORY_KEYS = {category.key for category in CATEGORIES}


def _article(name: str) -> DemoArticle:
    matches = [article for article in ARTICLES if article.name == name]
    assert len(matches) == 1, name
    return matches[0]


def test_sizes() -> None:
    assert len(ARTICLES) >= 200
    assert len(CATEGORIES) >= 8


def test_types() -> None:
    assert isinstance(CATEGORIES, tuple)
    assert isinstance(ARTICLES, tuple)
    assert all(isinstance(category, DemoCategory) for category in CATEGORIES)
    assert all(isinstance(article, DemoArticle) for article in ARTICLES)


def test_dataclasses_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ARTICLES[0].price_cents = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        CATEGORIES[0].name = "x"  # type: ignore[misc]


def test_categories_are_well_formed() -> None:
    assert len(CATEGORY_KEYS) == len(CATEGORIES)
    assert len({category.name for category in CATEGORIES}) == len(CATEGORIES)
    assert len({category.position for category in CATEGORIES}) == len(CATEGORIES)
    for category in CATEGORIES:
        assert re.fullmatch(r"#[0-9a-f]{6}", category.color), category
        assert isinstance(category.position, int) and category.position > 0
        assert isinstance(category.flags, frozenset)
        assert category.flags <= ALLOWED_FLAGS, category


def test_category_flags() -> None:
    by_key = {category.key: category for category in CATEGORIES}
    assert "meal_voucher" in by_key["boulangerie"].flags
    assert "meal_voucher" in by_key["fruits_legumes"].flags
    assert "meal_voucher" not in by_key["vins_bieres"].flags
    assert "meal_voucher" not in by_key["hygiene"].flags
    assert "no_loyalty" in by_key["presse"].flags
    assert any("book" in category.flags for category in CATEGORIES)


def test_every_article_has_a_known_category_and_every_category_is_used() -> None:
    used = {article.category for article in ARTICLES}
    assert used <= CATEGORY_KEYS
    assert used == CATEGORY_KEYS


def test_references_unique_and_well_formed() -> None:
    references = [article.reference for article in ARTICLES]
    assert len(set(references)) == len(references)
    for reference in references:
        assert re.fullmatch(r"[A-Z]{4}-\d{3}", reference), reference


def test_names_unique_and_non_blank() -> None:
    names = [article.name for article in ARTICLES]
    duplicates = [name for name, count in Counter(names).items() if count > 1]
    assert not duplicates
    assert all(name.strip() == name and name for name in names)


def test_barcodes_are_valid_unique_ean13() -> None:
    barcodes = [article.barcode for article in ARTICLES if article.barcode is not None]
    assert len(set(barcodes)) == len(barcodes)
    for barcode in barcodes:
        assert len(barcode) == 13 and barcode.isdigit(), barcode
        assert barcode.startswith("3"), barcode
        assert ean.is_valid(barcode), barcode


def test_articles_without_barcode_are_counter_or_weighed_items() -> None:
    for article in ARTICLES:
        if article.sold_by_weight:
            assert article.barcode is None, article
        if article.barcode is None:
            assert article.sold_by_weight or article.category in COUNTER_CATEGORIES, article
            assert article.favourite or article.reference, article


def test_some_articles_are_sold_by_weight() -> None:
    weighed = {article.category for article in ARTICLES if article.sold_by_weight}
    assert {"fruits_legumes", "cremerie"} <= weighed


def test_vat_rates() -> None:
    rates = {article.vat_bp for article in ARTICLES}
    assert rates <= ALLOWED_VAT_BP
    assert rates == ALLOWED_VAT_BP  # at least one article at each rate


def test_vat_per_category() -> None:
    for article in ARTICLES:
        if article.category in {"boulangerie", "viennoiserie", "patisserie", "fruits_legumes", "livres"}:
            assert article.vat_bp == 550, article
        elif article.category == "traiteur":
            assert article.vat_bp == 1000, article
        elif article.category == "vins_bieres":
            assert article.vat_bp == 2000, article
        elif article.category == "presse":
            assert article.vat_bp == 210, article


@pytest.mark.parametrize(
    ("name", "vat_bp"),
    [
        ("Baguette tradition", 550),
        ("Croissant pur beurre", 550),
        ("Sandwich jambon-beurre", 1000),
        ("Quiche lorraine (part)", 1000),
        ("Café expresso à emporter", 1000),
        ("Coca-Cola 33 cl", 550),
        ("Crème fraîche épaisse 20 cl", 550),
        ("Comté AOP 18 mois", 550),
        ("Tablette chocolat noir 70 % 100 g", 550),
        ("Rochers pralinés au chocolat x 8", 2000),
        ("Bonbons gélifiés 300 g", 2000),
        ("Côtes-du-Rhône rouge 75 cl", 2000),
        ("Gel douche 250 ml", 2000),
        ("Le Parisien", 210),
    ],
)
def test_vat_of_well_known_articles(name: str, vat_bp: int) -> None:
    assert _article(name).vat_bp == vat_bp


def test_prices_are_positive_ints() -> None:
    for article in ARTICLES:
        assert type(article.price_cents) is int, article
        assert 0 < article.price_cents < 100_000, article


def test_favourites_count() -> None:
    favourites = [article for article in ARTICLES if article.favourite]
    assert 12 <= len(favourites) <= 40
    categories = {article.category for article in favourites}
    assert {"boulangerie", "viennoiserie", "boissons", "presse"} <= categories


def test_weighed_cheese_is_priced_per_kg() -> None:
    comte = _article("Comté AOP 18 mois")
    assert comte.sold_by_weight
    assert comte.barcode is None
    assert comte.price_cents > 1000  # per kg, not per portion


def test_catalogue_is_deterministic() -> None:
    assert demo_catalogue._build_articles() == ARTICLES
