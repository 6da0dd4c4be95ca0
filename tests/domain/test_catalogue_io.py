"""Excel import and export of the catalogue, on files as messy as real ones."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from stdnum import ean

from kiosk.catalogue.excel import (
    ImportFileError,
    apply_import,
    export_catalogue,
    plan_import,
    read_barcodes,
    read_vat,
    write_template,
)
from kiosk.cli.main import main
from kiosk.store import Article, Barcode, Category
from kiosk.till import Till


def gtin(stem: str) -> str:
    return stem + ean.calc_check_digit(stem)


LEADING_ZERO = gtin("001234567890")  # 13 digits starting with 00: Excel drops the zeros
GOOD = gtin("376098765432")


def messy_workbook(path: Path, till: Till) -> None:
    """Headers in another order, French spellings without accents, an extra column, blank lines, junk."""
    demo_ref, demo_code = till.db.execute_sql(
        "SELECT a.reference, b.code FROM article a JOIN barcode b ON b.article_id = a.id "
        "WHERE length(b.code) = 13 ORDER BY a.id LIMIT 1"
    ).fetchone()
    book = Workbook()
    sheet = book.active
    sheet.append(["Catalogue boutique — export du logiciel précédent"])  # a title line above the headers
    sheet.append(
        ["PRIX TTC", "libelle", "Reference", "Taux TVA", "EAN", "categorie", "Remarque", "Prix d'achat"]
    )
    rows: list[list[object]] = [
        ["1,95 €", "Crème fraîche épaisse", "CREM-1", "5,5 %", GOOD, "Crèmerie", "promo", "1,10"],  # 3
        [Decimal("3.5"), "Savon de Marseille", "SAV-1", "20%", int(LEADING_ZERO), "Droguerie", "", None],  # 4
        [],  # 5 empty
        ["2,00", "Confiture", "CONF-1", Decimal("0.055"), "3,76012E+12", "Épicerie", "", ""],  # 6
        ["4", "Miel", "MIEL-1", "20,0 %", gtin("376011111111")[:-1] + "0", "Épicerie", "", ""],  # 7
        ["4", "Bougie", "BOUG-1", "19,6", "", "Droguerie", "", ""],  # 8
        ["abc", "Stylo", "STY-1", "20", "", "Papeterie", "", ""],  # 9
        ["1,20", "Savon doublon", "SAV-2", "0,2", int(LEADING_ZERO), "Droguerie", "", ""],  # 10
        ["1,20", "Doublon de référence", "SAV-1", 20, "", "Droguerie", "", ""],  # 11
        ["5", "", "VIDE-1", 20, "", "Droguerie", "", ""],  # 12
        ["5", "Déjà pris", "PRIS-1", 20, demo_code, "Droguerie", "", ""],  # 13
        [None, None, None, None, None, None, None, None],  # 14 empty
        [
            "6",
            "Thé vert",
            "THE-1",
            5.5,
            "",
            "EPICERIE SUCREE",
            "",
            "3",
        ],  # 15: category in other case, no accent
    ]
    for row in rows:
        sheet.append(row)
    assert demo_ref
    book.save(path)


def test_messy_workbook_dry_run_then_import(till: Till, tmp_path: Path) -> None:
    path = tmp_path / "catalogue.xlsx"
    messy_workbook(path, till)
    before = Article.select().count()

    plan = plan_import(till.db, path, "add", new_categories="create")
    assert Article.select().count() == before  # a dry run writes nothing
    assert sorted(r.reference for r in plan.create) == ["CREM-1", "SAV-1", "THE-1"]
    rejected = {(r.row, r.column): r.reason for r in plan.rejected}
    assert "notation scientifique" in rejected[(6, "Code-barres")]
    assert "clé de contrôle fausse" in rejected[(7, "Code-barres")]
    assert "Taux de TVA inconnu « 19,6 »" in rejected[(8, "TVA")]
    assert "Prix TTC illisible « abc »" in rejected[(9, "Prix TTC")]
    assert f"code-barres {LEADING_ZERO} déjà sur la ligne 4" in rejected[(10, "Code-barres")]
    assert "référence SAV-1 déjà sur la ligne 4" in rejected[(11, "Référence")]
    assert "libellé vide" in rejected[(12, "Libellé")]
    assert "déjà utilisé par l'article" in rejected[(13, "Code-barres")]
    assert len(plan.rejected) == 8
    assert plan.empty_rows == 2 and plan.ignored_columns == ["Remarque"]
    assert plan.new_categories == ["Droguerie"]
    summary = "\n".join(plan.summary())
    assert "Articles créés : 3" in summary and "ligne 6, colonne « Code-barres »" in summary

    result = apply_import(till.db, plan)
    assert (result.created, result.categories) == (3, 1)
    creme = Article.get(Article.reference == "CREM-1")
    assert (creme.price_cents, creme.vat_bp, creme.cost_cents, creme.category.name) == (
        195,
        550,
        110,
        "Crèmerie-fromages",
    )
    savon = Article.get(Article.reference == "SAV-1")
    assert (savon.price_cents, savon.vat_bp) == (350, 2000)
    assert Barcode.get(Barcode.code == LEADING_ZERO).article_id == savon.id  # the zeros are back
    the = Article.get(Article.reference == "THE-1")
    assert the.category.key == "epicerie_sucree" and the.vat_bp == 550 and the.cost_cents == 300
    assert till.catalogue.by_code(GOOD) is not None  # sellable at once
    assert Category.select().where(Category.name == "Droguerie").count() == 1

    again = plan_import(till.db, path, "add")
    assert (len(again.create), len(again.change), again.unchanged) == (0, 0, 3)


def test_unknown_categories_can_be_rejected_instead(till: Till, tmp_path: Path) -> None:
    path = tmp_path / "catalogue.xlsx"
    messy_workbook(path, till)
    plan = plan_import(till.db, path, "add", new_categories="reject")
    rejected = {(r.row, r.column): r.reason for r in plan.rejected}
    assert "catégorie « Droguerie » inconnue" in rejected[(4, "Catégorie")]
    assert sorted(r.reference for r in plan.create) == ["CREM-1", "THE-1"]
    assert plan.new_categories == []


def test_replace_mode_archives_what_disappeared_and_keeps_unreadable_rows(till: Till, tmp_path: Path) -> None:
    kept = Article.select().where(Article.archived == False).order_by(Article.id).limit(3)  # noqa: E712
    kept_refs = [a.reference for a in kept]
    book = Workbook()
    sheet = book.active
    sheet.append(["Référence", "Libellé", "Catégorie", "TVA", "Prix TTC"])
    sheet.append([kept_refs[0], "Nouveau nom", "Boulangerie", "5,5", "9,99"])
    sheet.append([kept_refs[1], "Prix illisible", "Boulangerie", "5,5", "n/a"])  # rejected, not archived
    sheet.append(["NEW-1", "Nouveauté", "Boulangerie", "20", "1"])
    path = tmp_path / "remplace.xlsx"
    book.save(path)
    active = Article.select().where(Article.archived == False).count()  # noqa: E712

    plan = plan_import(till.db, path, "replace")
    assert len(plan.archive) == active - 2 and kept_refs[1] not in plan.archive_refs
    assert f"ATTENTION : {active - 2} des {active} articles en vente seraient archivés" in plan.summary()[1]
    assert Article.select().where(Article.archived == True).count() == 0  # noqa: E712
    apply_import(till.db, plan)
    assert Article.select().count() == active + 1  # nothing deleted
    still = {a.reference for a in Article.select().where(Article.archived == False)}  # noqa: E712
    assert still == {kept_refs[0], kept_refs[1], "NEW-1"}
    assert Article.get(Article.reference == kept_refs[0]).name == "Nouveau nom"


def test_export_reimports_unchanged_and_template_imports(till: Till, tmp_path: Path) -> None:
    out = tmp_path / "export.xlsx"
    count = export_catalogue(till.db, out)
    assert count == Article.select().where(Article.archived == False).count()  # noqa: E712
    header = next(load_workbook(out, read_only=True).worksheets[0].iter_rows(values_only=True))
    assert header[:4] == ("Référence", "Libellé", "Catégorie", "Code-barres")
    plan = plan_import(till.db, out, "replace")
    assert (len(plan.create), len(plan.change), len(plan.archive), plan.rejected) == (0, 0, 0, [])
    assert (plan.category_create, plan.category_change, plan.writes) == ([], [], 0)

    template = tmp_path / "modele.xlsx"
    write_template(template)
    plan = plan_import(till.db, template, "add")
    assert [r.reference for r in plan.create] == ["EPI-001"] and plan.rejected == []
    apply_import(till.db, plan, till_id="T01")
    created = Article.get(Article.reference == "EPI-001")
    assert till.stock.balance(created.id) == 24000  # the template's initial stock, as a movement
    [movement] = till.stock.history(created.id)
    assert movement.kind == "inventory" and movement.till == "T01" and "Stock initial" in movement.reason
    assert till.stock.line(created.id).threshold_milli == 5000  # type: ignore[union-attr]
    from kiosk.catalogue.articles import CatalogueEditor

    assert CatalogueEditor(till.db).sheet(created.id).image == "creme-fraiche.png"  # type: ignore[union-attr]
    plan = plan_import(till.db, template, "add")  # existing articles keep their ledger
    assert plan.unchanged == 1


def test_not_a_workbook_and_missing_columns_say_what_to_do(till: Till, tmp_path: Path) -> None:
    bad = tmp_path / "catalogue.xlsx"
    bad.write_text("référence;prix\n", "utf-8")
    with pytest.raises(ImportFileError, match="n'est pas un classeur Excel"):
        plan_import(till.db, bad)
    book = Workbook()
    book.active.append(["Référence", "Libellé", "Catégorie"])
    book.save(bad)
    with pytest.raises(ImportFileError, match="Colonne\\(s\\) manquante\\(s\\) ligne 1 : Prix TTC, TVA"):
        plan_import(till.db, bad)


@pytest.mark.parametrize(
    ("cell", "bp"),
    [
        ("20", 2000),
        ("20%", 2000),
        ("0,2", 2000),
        ("20,0 %", 2000),
        (Decimal("0.055"), 550),
        ("2,1", 210),
        (10, 1000),
    ],
)
def test_vat_spellings(cell: object, bp: int) -> None:
    assert read_vat(cell) == bp


def test_barcode_cells() -> None:
    assert read_barcodes(int(LEADING_ZERO)) == [LEADING_ZERO]
    assert read_barcodes(f"{GOOD} ; {LEADING_ZERO}") == [GOOD, LEADING_ZERO]
    assert read_barcodes("plu00012") == ["PLU00012"]
    assert read_barcodes(gtin("9638507")) == [gtin("9638507")]  # EAN-8


def test_cli_dry_run_writes_nothing_and_import_asks(till: Till, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "catalogue.xlsx"
    messy_workbook(path, till)
    data = ["--data-dir", str(till.data_dir)]
    till.db.close()
    assert main([*data, "catalogue", "import", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Articles créés : 3" in out and "rien n'a été écrit" in out
    monkeypatch.setattr("builtins.input", lambda _: "n")
    assert main([*data, "catalogue", "import", str(path)]) == 1
    assert "Import abandonné" in capsys.readouterr().out
    monkeypatch.setattr("builtins.input", lambda _: "o")
    assert main([*data, "catalogue", "import", str(path)]) == 0
    assert "3 créés" in capsys.readouterr().out
    assert main([*data, "catalogue", "export", str(tmp_path / "export.xlsx")]) == 0
    assert "articles exportés" in capsys.readouterr().out
    assert main([*data, "catalogue", "template", str(tmp_path / "modele.xlsx")]) == 0
    assert main([*data, "catalogue", "import", str(tmp_path / "modele.xlsx"), "--dry-run"]) == 0
    assert "Articles créés : 1" in capsys.readouterr().out
    assert main([*data, "catalogue", "import", str(tmp_path / "absent.xlsx"), "--dry-run"]) == 1
    assert "Fichier introuvable" in capsys.readouterr().err
    reopened = Till.open(till.data_dir)
    try:
        assert reopened.catalogue.by_code(GOOD) is not None
    finally:
        reopened.db.close()


def test_a_plan_made_stale_writes_nothing(till: Till, tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["Référence", "Libellé", "Catégorie", "TVA", "Prix TTC"])
    book.active.append(["NEW-1", "Nouveauté", "Boulangerie", "20", "1"])
    book.active.append(["NEW-2", "Autre nouveauté", "Boulangerie", "20", "2"])
    path = tmp_path / "nouveau.xlsx"
    book.save(path)
    plan = plan_import(till.db, path, "add")
    Article.create(reference="NEW-2", name="Créé entre-temps", category=1, vat_bp=2000, price_cents=100)
    with pytest.raises(ImportFileError, match="Le catalogue a changé depuis l'aperçu"):
        apply_import(till.db, plan)
    assert not Article.select().where(Article.reference == "NEW-1").exists()  # one transaction


def test_variants_import_with_their_model_and_round_trip(till: Till, tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(
        ["Référence", "Libellé", "Catégorie", "TVA", "Prix TTC", "Modèle", "Taille", "Couleur"]
    )
    book.active.append(
        ["TSH-M-R", "T-shirt M rouge", "Textile", "20", "17", "TSH", "M", "Rouge"]
    )  # before its model
    book.active.append(["TSH", "T-shirt", "Textile", "20", "15", "", "", ""])
    book.active.append(["TSH-L-R", "T-shirt L rouge", "Textile", "20", "15", "TSH", "L", "Rouge"])
    book.active.append(["X-1", "Orphelin", "Textile", "20", "15", "NOPE", "L", ""])
    book.active.append(["X-2", "Déclinaison de déclinaison", "Textile", "20", "15", "TSH-L-R", "XL", ""])
    path = tmp_path / "textile.xlsx"
    book.save(path)
    plan = plan_import(till.db, path, "add")
    rejected = {(r.row, r.column): r.reason for r in plan.rejected}
    assert "modèle NOPE introuvable" in rejected[(5, "Modèle")]
    assert "TSH-L-R est lui-même une déclinaison" in rejected[(6, "Modèle")]
    apply_import(till.db, plan)
    from kiosk.catalogue.articles import CatalogueEditor

    model = Article.get(Article.reference == "TSH")
    variants = CatalogueEditor(till.db).variants(model.id)
    assert [(v.reference, v.label, v.price_delta_cents) for v in variants] == [
        ("TSH-M-R", "M Rouge", 200),
        ("TSH-L-R", "L Rouge", 0),
    ]
    out = tmp_path / "export.xlsx"
    export_catalogue(till.db, out)
    again = plan_import(till.db, out, "replace")
    assert (len(again.create), len(again.change), len(again.archive), again.rejected) == (0, 0, 0, [])


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Code EAN 13", "barcode"),
        ("GENCOD", "barcode"),
        ("Désignation de l'article", "name"),
        ("Prix de vente TTC (€)", "price"),
        ("PRIX\nTTC", "price"),
        ("Prix d'achat HT", "cost"),
        ("Prix HT", None),  # never taken for the price TTC
        ("Taux de TVA (%)", "vat"),
        ("Famille de produits", "category"),
        ("Réf. article", "reference"),
        ("Stock mini", "threshold"),
        ("Commentaire", None),
    ],
)
def test_headers_are_recognised_by_their_words(header: str, key: str | None) -> None:
    from kiosk.catalogue.excel import header_key

    assert header_key(header) == key


def test_categories_sheet_sets_colours_and_flags(till: Till, tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["Référence", "Libellé", "Catégorie", "TVA", "Prix TTC"])
    book.active.append(["TAB-1", "Cigarillos", "Tabac", "20", "9"])
    cats = book.create_sheet("Catégories")
    cats.append(["Catégorie", "Couleur", "Titres-restaurant", "Hors fidélité", "Livres"])
    cats.append(["Tabac", "#aa3300", "non", "oui", "non"])
    cats.append(["Vins et bières", "", "", "oui", ""])  # existing: excluded from loyalty from now on
    cats.append(["Presse", "rouge", "non", "oui", "non"])
    path = tmp_path / "tabac.xlsx"
    book.save(path)
    plan = plan_import(till.db, path, "add", new_categories="reject")
    assert [c.name for c in plan.category_create] == ["Tabac"] and len(plan.category_change) == 1
    assert [r.reference for r in plan.create] == ["TAB-1"]  # its category comes from the sheet
    [bad] = plan.rejected
    assert (bad.row, bad.column) == (4, "Catégories › Couleur") and "#3366CC" in bad.reason
    assert "Catégories créées : 1 (Tabac)" in plan.summary() and "Catégories modifiées : 1" in plan.summary()
    apply_import(till.db, plan)
    tabac = Category.get(Category.name == "Tabac")
    assert (tabac.color, tabac.flags) == ("#AA3300", "no_loyalty")
    assert (
        Category.get(Category.key == "vins_bieres").flags == "alcohol,no_loyalty"
    )  # a flag not in the sheet stays
    assert Article.get(Article.reference == "TAB-1").category_id == tabac.id
