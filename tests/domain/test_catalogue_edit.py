"""Editing the catalogue: articles, categories and their flags, variants; what a manager may do."""

from __future__ import annotations

from decimal import Decimal

import pytest
from stdnum import ean

from kiosk.catalogue.articles import ArticleDraft, CatalogueEditError, CatalogueEditor
from kiosk.sale.basket import Basket
from kiosk.sale.checkout import Tender
from kiosk.staff.permissions import PermissionDenied
from kiosk.staff.service import StaffMember
from kiosk.store import Article, Category
from kiosk.till import Till

CODE_M = "376077700001" + ean.calc_check_digit("376077700001")


def member(till: Till, role: str) -> StaffMember:
    return next(m for m in till.staff.members() if m.role == role)


def tshirt(till: Till) -> int:
    editor = CatalogueEditor(till.db)
    return editor.save_article(
        member(till, "manager"),
        ArticleDraft("T-shirt coton bio", "TSH", "hygiene", "", "20 %", "15,00", cost="6"),
    )


def test_article_form_checks_and_saves(till: Till) -> None:
    editor = CatalogueEditor(till.db)
    manager = member(till, "manager")
    draft = ArticleDraft(
        "Bougie parfumée", "", "hygiene", f"{CODE_M}", "20", "12,5", threshold="2", image="bougie.png"
    )
    with pytest.raises(PermissionDenied):
        editor.save_article(member(till, "cashier"), draft)
    with pytest.raises(CatalogueEditError, match="Taux de TVA inconnu"):
        editor.save_article(manager, ArticleDraft("Bougie", "B1", "hygiene", "", "19,6", "3"))
    with pytest.raises(CatalogueEditError, match="Choisissez la catégorie"):
        editor.save_article(manager, ArticleDraft("Bougie", "B1", "", "", "20", "3"))
    taken = till.db.execute_sql("SELECT reference FROM article LIMIT 1").fetchone()[0]
    with pytest.raises(CatalogueEditError, match=f"La référence {taken} est déjà"):
        editor.save_article(manager, ArticleDraft("Bougie", taken, "hygiene", "", "20", "3"))
    article_id = editor.save_article(manager, draft)
    sheet = editor.sheet(article_id)
    assert sheet is not None and sheet.article.reference == CODE_M  # no reference: the barcode is one
    assert (sheet.article.price_cents, sheet.threshold_milli, sheet.barcodes) == (1250, 2000, (CODE_M,))
    assert sheet.image == "bougie.png"
    assert till.catalogue.by_code(CODE_M) is not None


def test_sold_article_is_archived_never_deleted(till: Till) -> None:
    editor = CatalogueEditor(till.db)
    manager = member(till, "manager")
    sold, unsold = [a for a in till.catalogue.active_articles() if not a.sold_by_weight][:2]
    basket = Basket()
    basket.add_article(sold)
    till.checkout.complete(basket, [Tender("cash", basket.total)], 0, member(till, "cashier"))
    till.db.execute_sql("DELETE FROM stock_movement")  # the ticket alone says it was sold
    assert editor.remove_article(manager, sold.id) == "archived"
    assert Article.get_by_id(sold.id).archived and till.catalogue.get(sold.id) is None
    assert editor.remove_article(manager, unsold.id) == "deleted"
    assert Article.get_or_none(Article.id == unsold.id) is None


def test_category_flags_keep_their_names(till: Till) -> None:
    editor = CatalogueEditor(till.db)
    manager = member(till, "manager")
    key = editor.save_category(manager, "Tabac et jeux", "#AA3300", ["no_loyalty"], image="tabac.png")
    assert editor.category_image(key) == "tabac.png"
    assert Category.get(Category.key == key).flags == "no_loyalty"
    editor.save_category(manager, "Tabac et jeux", "#AA3300", ["no_loyalty", "meal_voucher"], key)
    assert Category.get(Category.key == key).flags == "meal_voucher,no_loyalty"
    with pytest.raises(CatalogueEditError, match="Couleur invalide"):
        editor.save_category(manager, "Autre", "rouge")
    with pytest.raises(CatalogueEditError, match="contient"):
        editor.remove_category(manager, "boulangerie")
    editor.remove_category(manager, key)
    assert Category.get_or_none(Category.key == key) is None


def test_variants_have_their_own_barcode_price_and_stock(till: Till) -> None:
    editor = CatalogueEditor(till.db)
    manager = member(till, "manager")
    parent = tshirt(till)
    ids = editor.add_variants(manager, parent, ["S", "M"], ["Rouge", "Bleu"], "2,00", f"{CODE_M}")
    variants = editor.variants(parent)
    assert [v.label for v in variants] == ["S Rouge", "S Bleu", "M Rouge", "M Bleu"] and len(ids) == 4
    assert {v.price_cents for v in variants} == {1700}
    assert variants[0].reference == "TSH-S-ROUGE" and variants[0].barcodes == CODE_M
    with pytest.raises(CatalogueEditError, match="La déclinaison S Rouge existe déjà"):
        editor.add_variants(manager, parent, ["S"], ["Rouge"])
    scanned = till.catalogue.by_code(CODE_M)
    assert scanned is not None and scanned.name == "T-shirt coton bio S Rouge"
    assert [v.id for v in till.catalogue.variants(parent)] == ids
    # the model's price moves its variants with their delta
    sheet = editor.sheet(parent)
    assert sheet is not None
    editor.save_article(manager, ArticleDraft("T-shirt coton bio", "TSH", "hygiene", "", "20", "18"), parent)
    assert {v.price_cents for v in editor.variants(parent)} == {2000}
    # each variant is stocked and sold on its own
    basket = Basket()
    basket.add_article(scanned, Decimal(2))
    till.checkout.complete(basket, [Tender("cash", basket.total)], 0, member(till, "cashier"))
    assert till.stock.balance(ids[0]) == -2000 and till.stock.balance(ids[1]) == 0


def test_search_ignores_accents_and_case_and_finds_barcode_prefixes(till: Till) -> None:
    names = [a.name for a in till.catalogue.search("creme fraiche")]
    assert names[0] == "Crème fraîche épaisse 20 cl"
    assert "Crème fraîche épaisse 20 cl" in [a.name for a in till.catalogue.search("CRÈME")]
    code, article_id = till.db.execute_sql(
        "SELECT code, article_id FROM barcode WHERE length(code) = 13 ORDER BY code LIMIT 1"
    ).fetchone()
    assert article_id in [a.id for a in till.catalogue.search(code[:9])]
    reference = Article.get_by_id(article_id).reference
    assert article_id in [a.id for a in till.catalogue.search(reference[:6].lower())]
    Article.update(archived=True).where(Article.id == article_id).execute()
    assert article_id not in [a.id for a in till.catalogue.search(code[:9])]
    assert article_id not in [a.id for a in till.catalogue.search(reference)]


def test_category_order(till: Till) -> None:
    editor = CatalogueEditor(till.db)
    editor.move_category(member(till, "manager"), "livres", 1)
    keys = [c.key for c in till.catalogue.categories()]
    assert keys[0] == "livres" and keys[1] == "boulangerie" and len(set(keys)) == len(keys)
    editor.move_category(member(till, "manager"), "livres", 99)
    assert [c.key for c in till.catalogue.categories()][-1] == "livres"
