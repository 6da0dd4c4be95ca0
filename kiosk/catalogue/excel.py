"""The catalogue to and from Excel (openpyxl): template, export, and an import planned first (dry run),
written only when confirmed, in one transaction.

Real files are messy: headers in any order and spelling (accents and case ignored), extra columns, empty
lines, barcodes turned into numbers (leading zeros lost) or into `3,76012E+12` (digits lost), decimal
commas, prices with €, VAT written 20, 20 %, 0,2 or 20,0 %. Every row that cannot be read is rejected with
its row number, column and a French reason; the others are imported.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from peewee import IntegrityError, SqliteDatabase

from kiosk.catalogue.cells import (
    CellError,
    cell_text,
    norm,
    read_barcodes,
    read_flag,
    read_price,
    read_threshold,
    read_vat,
    slug,
)
from kiosk.common.money import format_rate
from kiosk.staff.permissions import HasRole, require

MODES = ("add", "replace")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not a workbook, no header row...); French message."""


# column key -> (header written in templates and exports, other spellings accepted)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reference": ("Référence", ("ref", "reference article", "code article", "sku", "code interne")),
    "name": ("Libellé", ("nom", "designation", "article", "nom article", "produit", "name", "intitule")),
    "category": ("Catégorie", ("famille", "rayon", "category", "categorie article")),
    "barcode": ("Code-barres", ("code barre", "codes barres", "ean", "ean13", "gtin", "barcode", "cb")),
    "vat": ("TVA", ("taux tva", "tva %", "taux de tva", "vat", "tva taux")),
    "price": (
        "Prix TTC",
        ("prix", "prix de vente", "prix vente ttc", "pv ttc", "pv", "price", "prix unitaire"),
    ),
    "cost": ("Prix d'achat", ("cout", "prix achat", "pa", "pa ht", "prix d achat ht", "cost")),
    "by_weight": ("Vendu au poids", ("au poids", "poids", "vente au poids")),
    "favourite": ("Favori", ("favoris", "touche favori", "raccourci")),
    "threshold": ("Seuil d'alerte", ("seuil", "alerte", "seuil alerte", "stock mini", "stock minimum")),
    # initial stock of the articles this import creates (existing articles keep their ledger)
    "stock": ("Stock initial", ("stock", "quantite en stock", "qte en stock", "stock de depart")),
    # a variant's row names its model article (by reference), its size and its colour
    "model": ("Modèle", ("article modele", "reference modele", "ref modele", "parent")),
    "size": ("Taille", ("pointure", "size")),
    "colour": ("Couleur", ("coloris", "color", "colour")),
    "image": ("Image", ("photo", "visuel", "image article")),
}
REQUIRED = ("name", "price", "vat")
EXAMPLE = (
    "EPI-001",
    "Crème fraîche 20 cl",
    "Crèmerie",
    "3760123450010",
    "5,5 %",
    "1,95",
    "1,10",
    "non",
    "oui",
    "5",
    "24",
    "",
    "",
    "",
    "creme-fraiche.png",
)


_HEADERS = {norm(header): key for key, (header, _) in COLUMNS.items()} | {
    norm(alias): key for key, (_, aliases) in COLUMNS.items() for alias in aliases
}


# words that name a column when a header is not one of the spellings above ("Code EAN 13",
# "Désignation de l'article", "Prix de vente TTC (€)"): checked in this order
_WORDS: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = (
    ("cost", frozenset({"achat", "revient", "cout", "pa"}), frozenset()),
    ("threshold", frozenset({"seuil", "alerte", "mini", "minimum"}), frozenset()),
    (
        "barcode",
        frozenset({"ean", "ean13", "ean8", "gencod", "gtin", "barre", "barres", "codebarre"}),
        frozenset(),
    ),
    ("vat", frozenset({"tva", "vat"}), frozenset()),
    ("price", frozenset({"prix", "pv", "tarif"}), frozenset({"ht"})),  # a price HT is not the price TTC
    ("model", frozenset({"modele"}), frozenset()),
    ("category", frozenset({"categorie", "famille", "rayon", "category"}), frozenset()),
    ("name", frozenset({"libelle", "designation", "nom", "intitule", "description"}), frozenset()),
    ("reference", frozenset({"reference", "ref", "sku"}), frozenset()),
)


def header_key(text: str) -> str | None:
    """The column a header names (accents, case and punctuation ignored), or None (column ignored)."""
    normed = norm(text)
    key = _HEADERS.get(normed)
    if key is not None:
        return key
    words = set(normed.replace("%", " ").split())
    for key, wanted, unless in _WORDS:
        if words & wanted and not words & unless:
            return key
    return None


@dataclass(frozen=True)
class Rejected:
    row: int
    column: str
    reason: str
    reference: str = ""  # kept from archiving in replace mode: the row is there, only unreadable

    def __str__(self) -> str:
        return f"ligne {self.row}, colonne « {self.column} » : {self.reason}"


@dataclass(frozen=True)
class ArticleRow:
    row: int
    reference: str
    name: str
    category: str  # the category's name as written (resolved at apply)
    barcodes: tuple[str, ...]
    vat_bp: int
    price_cents: int
    cost_cents: int | None
    sold_by_weight: bool
    favourite: bool
    threshold_milli: int | None
    stock_milli: int | None
    has: frozenset[str]  # the optional columns present in the file (absent ones are left as they are)
    model: str = ""  # reference of the model article when this row is a variant
    size: str = ""
    colour: str = ""
    image: str = ""


@dataclass
class ImportPlan:
    mode: str
    path: Path
    create: list[ArticleRow] = field(default_factory=list)
    change: list[tuple[int, ArticleRow]] = field(default_factory=list)  # (article id, row)
    unchanged: int = 0
    archive: list[int] = field(default_factory=list)  # article ids
    archive_refs: list[str] = field(default_factory=list)
    new_categories: list[str] = field(default_factory=list)
    category_create: list[CategoryRow] = field(default_factory=list)  # from the « Catégories » sheet
    category_change: list[tuple[int, CategoryRow]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    empty_rows: int = 0
    active_before: int = 0  # active articles before the import (to warn before archiving most of them)

    @property
    def writes(self) -> int:
        return (
            len(self.create)
            + len(self.change)
            + len(self.archive)
            + len(self.category_create)
            + len(self.category_change)
            + len(self.new_categories)
        )

    @property
    def created_categories(self) -> list[str]:
        return [c.name for c in self.category_create] + self.new_categories

    def summary(self, max_rejected: int | None = None) -> list[str]:
        """What the import will do, then every rejected row (French)."""
        lines = [
            f"Fichier : {self.path.name} — mode {'remplacement' if self.mode == 'replace' else 'ajout'}",
            f"Articles créés : {len(self.create)}",
            f"Articles modifiés : {len(self.change)}",
            f"Articles inchangés : {self.unchanged}",
            f"Articles archivés (absents du fichier) : {len(self.archive)}",
            f"Catégories créées : {len(self.created_categories)}"
            + (f" ({', '.join(self.created_categories)})" if self.created_categories else ""),
            f"Catégories modifiées : {len(self.category_change)}",
            f"Lignes refusées : {len(self.rejected)}",
        ]
        if self.archive and len(self.archive) * 2 > self.active_before:
            lines.insert(
                1,
                f"ATTENTION : {len(self.archive)} des {self.active_before} articles en vente seraient archivés ; "
                "vérifiez que c'est le bon fichier, ou importez en mode ajout.",
            )
        if self.empty_rows:
            lines.append(f"Lignes vides ignorées : {self.empty_rows}")
        if self.ignored_columns:
            lines.append(f"Colonnes ignorées : {', '.join(self.ignored_columns)}")
        shown = self.rejected if max_rejected is None else self.rejected[:max_rejected]
        lines += [f"  Refusé {r}" for r in shown]
        if len(shown) < len(self.rejected):
            lines.append(f"  … et {len(self.rejected) - len(shown)} autres lignes refusées")
        return lines


@dataclass(frozen=True)
class ImportResult:
    created: int
    changed: int
    archived: int
    categories: int


# -- reading --------------------------------------------------------------------------------------
def _open(path: Path) -> Any:
    if not path.exists():
        raise ImportFileError(f"Fichier introuvable : {path}. Vérifiez le nom et la clé USB.")
    from openpyxl import load_workbook  # 70 ms of imports: not at the till's start

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise ImportFileError(
            f"{path.name} n'est pas un classeur Excel lisible (.xlsx) : enregistrez-le au format Excel "
            f"puis recommencez. ({type(exc).__name__})"
        ) from None


def _header(rows: Iterator[tuple[Any, ...]]) -> tuple[int, dict[str, int], list[str]]:
    """Find the header row among the first ten: (its number, column key -> index, ignored headers)."""
    for number, row in enumerate(rows, start=1):
        found: dict[str, int] = {}
        ignored: list[str] = []
        for index, cell in enumerate(row):
            text = cell_text(cell)
            if not text:
                continue
            key = header_key(text)
            if key is not None and key not in found:
                found[key] = index
            else:
                ignored.append(text)
        if len(found) >= 2:
            missing = [COLUMNS[k][0] for k in REQUIRED if k not in found]
            if "reference" not in found and "barcode" not in found:
                missing.append("Référence ou Code-barres")
            if missing:
                raise ImportFileError(
                    f"Colonne(s) manquante(s) ligne {number} : {', '.join(missing)}. "
                    "Partez du modèle : kiosk catalogue template modele.xlsx."
                )
            return number, found, ignored
        if number >= 10:
            break
    raise ImportFileError(
        "Aucune ligne d'en-têtes trouvée (Référence, Libellé, Prix TTC, TVA…) dans les 10 premières lignes : "
        "partez du modèle (kiosk catalogue template modele.xlsx)."
    )


def read_rows(path: Path) -> tuple[list[ArticleRow], list[Rejected], list[str], int, list[CategoryRow]]:
    """Every article row of the first sheet: (rows, rejected, ignored columns, empty rows, and the rows of
    a « Catégories » sheet when there is one)."""
    workbook = _open(path)
    try:
        category_rows = []
        for other in workbook.worksheets[1:]:
            if norm(other.title) == "categories":
                category_rows = _category_rows(other.iter_rows(values_only=True))
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header_row, columns, ignored = _header(rows)
        result: list[ArticleRow] = []
        rejected: list[Rejected] = []
        empty = pending_empty = 0  # trailing empty rows (formatted but unused) are not reported
        optional = frozenset(columns) - set(REQUIRED)
        for number, values in enumerate(rows, start=header_row + 1):
            if all(v is None or cell_text(v) == "" for v in values):
                pending_empty += 1
                continue
            empty, pending_empty = empty + pending_empty, 0
            try:
                result.append(_article_row(number, values, columns, optional))
            except _RowError as exc:
                reference = (
                    cell_text(values[columns["reference"]])
                    if "reference" in columns and columns["reference"] < len(values)
                    else ""
                )
                rejected.append(Rejected(number, COLUMNS[exc.key][0], exc.reason, reference))
        for item in category_rows:
            if isinstance(item, Rejected):
                rejected.append(item)
        return result, rejected, ignored, empty, [c for c in category_rows if isinstance(c, CategoryRow)]
    except (ImportFileError, MemoryError):
        raise
    except Exception as exc:  # a damaged workbook, a USB key pulled out while reading
        raise ImportFileError(
            f"Lecture de {path.name} interrompue ({type(exc).__name__}) : vérifiez la clé USB, ouvrez le "
            "fichier dans Excel et enregistrez-le de nouveau, puis recommencez."
        ) from None
    finally:
        workbook.close()


CATEGORY_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": ("Catégorie", ("nom", "categorie", "famille", "rayon")),
    "color": ("Couleur", ("couleur du bouton", "colour", "color")),
    "meal_voucher": ("Titres-restaurant", ("titre restaurant", "titres restaurant", "tickets restaurant")),
    "no_loyalty": ("Hors fidélité", ("exclue de la fidelite", "sans fidelite", "hors fidelite")),
    "book": ("Livres", ("livre", "remise plafonnee")),
    "alcohol": ("Alcool", ("alcools", "boissons alcoolisees")),
    "image": ("Image", ("photo",)),
}
_CATEGORY_HEADERS = {norm(h): k for k, (h, _) in CATEGORY_COLUMNS.items()} | {
    norm(a): k for k, (_, aliases) in CATEGORY_COLUMNS.items() for a in aliases
}
FLAG_KEYS = ("meal_voucher", "no_loyalty", "book", "alcohol")


@dataclass(frozen=True)
class CategoryRow:
    row: int
    name: str
    color: str | None  # None: column absent or cell empty (left as it is)
    flags: dict[str, bool]  # the flag columns present
    image: str | None


def _category_rows(rows: Iterator[tuple[Any, ...]]) -> list[CategoryRow | Rejected]:
    """The « Catégories » sheet: its first row names the columns."""
    header = next(rows, None) or ()
    columns = {}
    for index, cell in enumerate(header):
        key = _CATEGORY_HEADERS.get(norm(cell_text(cell)))
        if key is not None and key not in columns:
            columns[key] = index
    if "name" not in columns:
        return []
    result: list[CategoryRow | Rejected] = []
    for number, values in enumerate(rows, start=2):

        def cell(key: str, values: tuple[Any, ...] = values) -> Any:
            index = columns.get(key)
            return values[index] if index is not None and index < len(values) else None

        name = " ".join(cell_text(cell("name")).split())
        if not name:
            continue
        key = "color"
        try:
            color = cell_text(cell("color")) or None
            if color is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
                raise CellError(f"couleur « {color} » : saisissez-la comme #3366CC.")
            flags = {}
            for key in FLAG_KEYS:
                if key in columns:
                    flags[key] = read_flag(cell(key), CATEGORY_COLUMNS[key][0])
            key = "image"
            image = cell_text(cell("image"))[:200] if "image" in columns else None
        except CellError as exc:
            result.append(Rejected(number, f"Catégories › {CATEGORY_COLUMNS[key][0]}", str(exc)))
            continue
        result.append(CategoryRow(number, name[:60], color.upper() if color else None, flags, image))
    return result


class _RowError(Exception):
    def __init__(self, key: str, reason: str):
        super().__init__(reason)
        self.key = key
        self.reason = reason


def _article_row(
    number: int, values: tuple[Any, ...], columns: dict[str, int], optional: frozenset[str]
) -> ArticleRow:
    def cell(key: str) -> Any:
        index = columns.get(key)
        return values[index] if index is not None and index < len(values) else None

    key = "barcode"
    try:
        barcodes = read_barcodes(cell("barcode"))
        key = "reference"
        reference = cell_text(cell("reference"))
        if not reference:
            if not barcodes:
                raise CellError("ni référence ni code-barres : saisissez au moins l'un des deux.")
            reference = barcodes[0]
        if len(reference) > 40:
            raise CellError("référence trop longue (40 caractères au plus).")
        key = "name"
        name = " ".join(cell_text(cell("name")).split())
        if not name:
            raise CellError("libellé vide : saisissez le nom de l'article.")
        if len(name) > 80:
            raise CellError("libellé trop long (80 caractères au plus).")
        key = "category"
        category = " ".join(cell_text(cell("category")).split())
        key = "vat"
        if cell_text(cell("vat")) == "":
            raise CellError("taux de TVA manquant : saisissez 2,1 %, 5,5 %, 10 % ou 20 %.")
        vat = read_vat(cell("vat"))
        key = "price"
        if cell_text(cell("price")) == "":
            raise CellError("prix manquant : saisissez le prix TTC.")
        price = read_price(cell("price"), "Prix TTC")
        key = "cost"
        cost = read_price(cell("cost"), "Prix d'achat") if cell_text(cell("cost")) else None
        key = "by_weight"
        by_weight = read_flag(cell("by_weight"), "Vendu au poids")
        key = "favourite"
        favourite = read_flag(cell("favourite"), "Favori")
        key = "threshold"
        threshold = read_threshold(cell("threshold"))
        key = "stock"
        stock = read_threshold(cell("stock"), "Stock initial")
    except CellError as exc:
        raise _RowError(key, str(exc)) from None
    return ArticleRow(
        number,
        reference,
        name,
        category,
        tuple(dict.fromkeys(barcodes)),
        vat,
        price,
        cost,
        by_weight,
        favourite,
        threshold,
        stock,
        optional,
        " ".join(cell_text(cell("model")).split()),
        " ".join(cell_text(cell("size")).split())[:30],
        " ".join(cell_text(cell("colour")).split())[:30],
        cell_text(cell("image"))[:200],
    )


# -- planning ---------------------------------------------------------------------------------------
DEFAULT_CATEGORY = "Divers"


def plan_import(
    db: SqliteDatabase, path: Path, mode: str = "add", new_categories: str = "create"
) -> ImportPlan:
    """The dry run: what importing `path` would do; writes nothing. `new_categories`: create | reject."""
    if mode not in MODES:
        raise ImportFileError("Mode d'import inconnu : add (ajout) ou replace (remplacement).")
    rows, rejected, ignored, empty, category_rows = read_rows(path)
    plan = ImportPlan(mode, path, rejected=rejected, ignored_columns=ignored, empty_rows=empty)
    _plan_categories(db, plan, category_rows)
    from_sheet = {norm(c.name) for c in plan.category_create}
    categories = {
        norm(name): cid for cid, name in db.execute_sql("SELECT id, name FROM category").fetchall()
    } | {norm(key): cid for cid, key in db.execute_sql("SELECT id, key FROM category").fetchall()}
    existing = {
        r[1]: r
        for r in db.execute_sql(
            "SELECT id, reference, name, category_id, vat_bp, price_cents, cost_cents, sold_by_weight, "
            "favourite, archived, image FROM article"
        )
    }
    owners: dict[str, tuple[int, str, bool]] = {
        code: (aid, ref, bool(archived))
        for code, aid, ref, archived in db.execute_sql(
            "SELECT b.code, a.id, a.reference, a.archived FROM barcode b JOIN article a ON a.id = b.article_id"
        )
    }
    barcodes_of: dict[int, set[str]] = {}
    for code, (aid, _, _) in owners.items():
        barcodes_of.setdefault(aid, set()).add(code)
    thresholds = dict(db.execute_sql("SELECT article_id, threshold_milli FROM stock_alert").fetchall())
    seen_refs: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    accepted: list[ArticleRow] = []
    file_refs = {r.reference for r in rows}
    new_cats: dict[str, str] = {}
    for row in rows:
        if row.reference in seen_refs:
            plan.rejected.append(
                Rejected(
                    row.row,
                    "Référence",
                    f"référence {row.reference} déjà sur la ligne {seen_refs[row.reference]}.",
                )
            )
            continue
        duplicate = next((c for c in row.barcodes if c in seen_codes), None)
        if duplicate is not None:
            plan.rejected.append(
                Rejected(
                    row.row,
                    "Code-barres",
                    f"code-barres {duplicate} déjà sur la ligne {seen_codes[duplicate]}.",
                )
            )
            continue
        taken = next(
            (
                (code, owners[code][1])
                for code in row.barcodes
                if code in owners
                and owners[code][1] != row.reference
                and not owners[code][2]  # an archived article gives its barcode up
                and owners[code][1] not in file_refs  # that article's own row says its barcodes
                and mode == "add"  # replace: the article absent from the file is archived
            ),
            None,
        )
        if taken is not None:
            plan.rejected.append(
                Rejected(
                    row.row,
                    "Code-barres",
                    f"code-barres {taken[0]} déjà utilisé par l'article {taken[1]} : "
                    "corrigez le code ou l'article concerné.",
                )
            )
            continue
        category = row.category or DEFAULT_CATEGORY
        if (
            norm(category) not in categories
            and norm(category) not in new_cats
            and norm(category) not in from_sheet
        ):
            if new_categories == "reject":
                plan.rejected.append(
                    Rejected(
                        row.row,
                        "Catégorie",
                        f"catégorie « {category} » inconnue : créez-la d'abord ou corrigez son nom.",
                    )
                )
                continue
            new_cats[norm(category)] = category
        seen_refs[row.reference] = row.row
        for code in row.barcodes:
            seen_codes[code] = row.row
        accepted.append(row)
    variant_of = {
        aid: (parent_ref, size, colour)
        for aid, parent_ref, size, colour in db.execute_sql(
            "SELECT v.article_id, p.reference, v.size, v.colour FROM article_variant v "
            "JOIN article p ON p.id = v.parent_id"
        )
    }
    if "model" in (rows[0].has if rows else ()):
        accepted = _check_models(accepted, existing, variant_of, plan.rejected)
    plan.new_categories = list(new_cats.values())
    for row in accepted:
        current = existing.get(row.reference)
        if current is None:
            plan.create.append(row)
            continue
        aid, _, name, cat_id, vat, price, cost, by_weight, favourite, archived, image = current
        category_id = categories.get(norm(row.category or DEFAULT_CATEGORY))
        same = (
            not archived
            and name == row.name
            and cat_id == category_id
            and vat == row.vat_bp
            and price == row.price_cents
            and ("cost" not in row.has or cost == row.cost_cents)
            and ("by_weight" not in row.has or bool(by_weight) == row.sold_by_weight)
            and ("favourite" not in row.has or bool(favourite) == row.favourite)
            and ("barcode" not in row.has or barcodes_of.get(aid, set()) == set(row.barcodes))
            and ("threshold" not in row.has or thresholds.get(aid) == row.threshold_milli)
            and ("image" not in row.has or image == row.image)
            and (
                "model" not in row.has
                or variant_of.get(aid, ("", "", "")) == (row.model, row.size, row.colour)
            )
        )
        if same:
            plan.unchanged += 1
        else:
            plan.change.append((aid, row))
    plan.active_before = sum(1 for record in existing.values() if not record[9])
    if mode == "replace":
        protected = {r.reference for r in rows} | {r.reference for r in plan.rejected if r.reference}
        for ref, record in existing.items():
            if ref not in protected and not record[9]:
                plan.archive.append(record[0])
                plan.archive_refs.append(ref)
    plan.rejected.sort(key=lambda r: r.row)
    return plan


def _plan_categories(db: SqliteDatabase, plan: ImportPlan, rows: list[CategoryRow]) -> None:
    current: dict[str, tuple[int, str, str, str, str]] = {}
    for cid, key, name, color, flags, image in db.execute_sql(
        "SELECT id, key, name, color, flags, image FROM category"
    ):
        current[norm(key)] = current[norm(name)] = (cid, name, color, flags, image)
    seen: set[str] = set()
    for row in rows:
        if norm(row.name) in seen:
            plan.rejected.append(
                Rejected(row.row, "Catégories › Catégorie", f"« {row.name} » déjà plus haut.")
            )
            continue
        seen.add(norm(row.name))
        record = current.get(norm(row.name))
        if record is None:
            plan.category_create.append(row)
            continue
        cid, _, color, flags, image = record
        have = {f for f in flags.split(",") if f}
        same = (
            (row.color is None or row.color == color.upper())
            and all((flag in have) == wanted for flag, wanted in row.flags.items())
            and (row.image is None or row.image == image)
        )
        if not same:
            plan.category_change.append((cid, row))


def _check_models(
    accepted: list[ArticleRow],
    existing: dict[str, Any],
    variant_of: dict[int, tuple[str, str, str]],
    rejected: list[Rejected],
) -> list[ArticleRow]:
    """A variant's model must be an article (in the file or the catalogue) that is not a variant itself."""
    in_file = {r.reference: r for r in accepted}

    def is_variant(ref: str) -> bool:
        row = in_file.get(ref)
        if row is not None:
            return bool(row.model)
        record = existing.get(ref)
        return record is not None and record[0] in variant_of

    kept = []
    for row in accepted:
        if row.model:
            if row.model == row.reference:
                reason = "un article ne peut pas être sa propre déclinaison : videz la colonne Modèle."
            elif row.model not in in_file and row.model not in existing:
                reason = f"modèle {row.model} introuvable : ajoutez sa ligne ou corrigez la référence."
            elif is_variant(row.model):
                reason = f"{row.model} est lui-même une déclinaison : indiquez l'article modèle."
            else:
                kept.append(row)
                continue
            rejected.append(Rejected(row.row, "Modèle", reason, row.reference))
        else:
            kept.append(row)
    return kept


# -- applying ---------------------------------------------------------------------------------------
def apply_import(
    db: SqliteDatabase, plan: ImportPlan, member: HasRole | None = None, till_id: str = ""
) -> ImportResult:
    """Write a confirmed plan in one transaction (all or nothing). From a screen, `member` is who
    confirmed it (a manager or admin); the command line runs as the shop's administrator."""
    if member is not None:
        require(member, "catalogue")
    try:
        return _apply(db, plan, member, till_id)
    except (sqlite3.IntegrityError, IntegrityError):
        raise ImportFileError(
            "Le catalogue a changé depuis l'aperçu (article ou code-barres ajouté entre-temps) : rien n'a été "
            "importé ; refaites l'aperçu puis confirmez."
        ) from None


def _apply(db: SqliteDatabase, plan: ImportPlan, member: HasRole | None, till_id: str) -> ImportResult:
    conn = db.connection()
    with db.atomic():
        categories = {norm(n): cid for cid, n in conn.execute("SELECT id, name FROM category")}
        categories |= {norm(k): cid for cid, k in conn.execute("SELECT id, key FROM category")}
        keys = {k for (k,) in conn.execute("SELECT key FROM category")}
        position = conn.execute("SELECT COALESCE(MAX(position), 0) FROM category").fetchone()[0]
        for cat in plan.category_create:
            key = slug(cat.name)
            while key in keys:
                key = key + "-2"
            keys.add(key)
            position += 1
            flags = ",".join(sorted(f for f, on in cat.flags.items() if on))
            cursor = conn.execute(
                "INSERT INTO category (key, name, color, position, flags, image) VALUES (?, ?, ?, ?, ?, ?)",
                (key, cat.name, cat.color or "#888888", position, flags, cat.image or ""),
            )
            categories[norm(cat.name)] = int(cursor.lastrowid or 0)
        for cid, cat in plan.category_change:
            (old_flags,) = conn.execute("SELECT flags FROM category WHERE id = ?", (cid,)).fetchone()
            have = {f for f in old_flags.split(",") if f}
            have = (have - {f for f, on in cat.flags.items() if not on}) | {
                f for f, on in cat.flags.items() if on
            }
            conn.execute(
                "UPDATE category SET color = COALESCE(?, color), flags = ?, image = COALESCE(?, image) WHERE id = ?",
                (cat.color, ",".join(sorted(have)), cat.image, cid),
            )
        for name in plan.new_categories:
            key = slug(name)
            while key in keys:
                key = key + "-2"
            keys.add(key)
            position += 1
            cursor = conn.execute(
                "INSERT INTO category (key, name, color, position, flags) VALUES (?, ?, '#888888', ?, '')",
                (key, name, position),
            )
            categories[norm(name)] = int(cursor.lastrowid or 0)

        def category_id(row: ArticleRow) -> int:
            return categories[norm(row.category or DEFAULT_CATEGORY)]

        conn.executemany(
            "INSERT INTO article (reference, name, category_id, vat_bp, price_cents, cost_cents, "
            "sold_by_weight, favourite, archived) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (
                (
                    r.reference,
                    r.name,
                    category_id(r),
                    r.vat_bp,
                    r.price_cents,
                    r.cost_cents,
                    r.sold_by_weight,
                    r.favourite,
                )
                for r in plan.create
            ),
        )
        ids = dict(conn.execute("SELECT reference, id FROM article").fetchall()) if plan.create else {}
        for aid, row in plan.change:
            conn.execute(
                "UPDATE article SET name = ?, category_id = ?, vat_bp = ?, price_cents = ?, archived = 0, "
                "cost_cents = CASE WHEN ? THEN ? ELSE cost_cents END, "
                "sold_by_weight = CASE WHEN ? THEN ? ELSE sold_by_weight END, "
                "favourite = CASE WHEN ? THEN ? ELSE favourite END WHERE id = ?",
                (
                    row.name,
                    category_id(row),
                    row.vat_bp,
                    row.price_cents,
                    "cost" in row.has,
                    row.cost_cents,
                    "by_weight" in row.has,
                    row.sold_by_weight,
                    "favourite" in row.has,
                    row.favourite,
                    aid,
                ),
            )
        targets = [(ids[r.reference], r) for r in plan.create] + plan.change
        with_codes = [(aid, r) for aid, r in targets if "barcode" in r.has]
        conn.executemany("DELETE FROM barcode WHERE article_id = ?", ((aid,) for aid, _ in with_codes))
        conn.executemany(
            "INSERT OR REPLACE INTO barcode (code, article_id) VALUES (?, ?)",
            ((code, aid) for aid, r in with_codes for code in r.barcodes),
        )
        with_threshold = [(aid, r) for aid, r in targets if "threshold" in r.has]
        conn.executemany(
            "DELETE FROM stock_alert WHERE article_id = ?", ((aid,) for aid, _ in with_threshold)
        )
        conn.executemany(
            "INSERT INTO stock_alert (article_id, threshold_milli) VALUES (?, ?)",
            ((aid, r.threshold_milli) for aid, r in with_threshold if r.threshold_milli is not None),
        )
        conn.executemany("UPDATE article SET archived = 1 WHERE id = ?", ((aid,) for aid in plan.archive))
        conn.executemany(
            "UPDATE article SET image = ? WHERE id = ?",
            ((r.image, aid) for aid, r in targets if "image" in r.has),
        )
        with_model = [(aid, r) for aid, r in targets if "model" in r.has]
        if with_model:
            refs = dict(conn.execute("SELECT reference, id FROM article").fetchall())
            conn.executemany(
                "DELETE FROM article_variant WHERE article_id = ?", ((aid,) for aid, _ in with_model)
            )
            conn.executemany(
                "INSERT INTO article_variant (article_id, parent_id, size, colour, price_delta_cents) "
                "VALUES (?1, ?2, ?3, ?4, (SELECT price_cents FROM article WHERE id = ?1) - "
                "(SELECT price_cents FROM article WHERE id = ?2))",
                ((aid, refs[r.model], r.size, r.colour) for aid, r in with_model if r.model),
            )
        initial = [(ids[r.reference], r.stock_milli) for r in plan.create if r.stock_milli]
        when = datetime.now(UTC).isoformat(timespec="seconds")
        who = member.name if member is not None else "import"
        reason = f"Stock initial (import {plan.path.name})"[:120]
        conn.executemany(
            "INSERT INTO stock_movement (id, article_id, qty_milli, kind, reason, user, till, created_utc) "
            "VALUES (?, ?, ?, 'inventory', ?, ?, ?, ?)",
            ((str(uuid.uuid4()), aid, qty, reason, who, till_id, when) for aid, qty in initial),
        )
        conn.executemany("INSERT INTO stock_balance (article_id, qty_milli) VALUES (?, ?)", initial)
    return ImportResult(len(plan.create), len(plan.change), len(plan.archive), len(plan.created_categories))


# -- writing workbooks ------------------------------------------------------------------------------
def _headers() -> list[str]:
    return [header for header, _ in COLUMNS.values()]


def _widths(sheet: Any) -> None:
    for letter, width in zip(
        "ABCDEFGHIJKLMNO", (14, 36, 18, 16, 8, 10, 12, 14, 8, 14, 12, 14, 10, 12, 18), strict=True
    ):
        sheet.column_dimensions[letter].width = width


def write_template(path: Path) -> None:
    """An empty catalogue with its headers, one example row, and a help sheet."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Catalogue"
    sheet.append(_headers())
    sheet.append(list(EXAMPLE))
    for row in sheet.iter_rows(min_row=2, max_row=1000, min_col=4, max_col=4):
        for cell in row:
            cell.number_format = "@"  # barcodes as text: Excel keeps every digit
    _widths(sheet)
    sheet.freeze_panes = "A2"
    categories = workbook.create_sheet("Catégories")
    categories.append([header for header, _ in CATEGORY_COLUMNS.values()])
    categories.column_dimensions["A"].width = 24
    help_sheet = workbook.create_sheet("Aide")
    for line in (
        ("Colonne", "Contenu"),
        ("Référence", "Code interne unique de l'article (vide : le code-barres sert de référence)."),
        ("Libellé", "Nom affiché à l'écran et sur le ticket (obligatoire)."),
        ("Catégorie", "Nom de la catégorie ; créée à l'import si elle n'existe pas (selon l'option)."),
        ("Code-barres", "EAN-13 ou EAN-8, en texte ; plusieurs codes séparés par « ; »."),
        ("TVA", "2,1 %, 5,5 %, 10 % ou 20 % (obligatoire)."),
        ("Prix TTC", "Prix de vente TTC, au kilo pour un article vendu au poids (obligatoire)."),
        ("Prix d'achat", "Facultatif : sert à la valorisation du stock au coût."),
        ("Vendu au poids", "oui / non."),
        ("Favori", "oui : touche sur l'écran de vente."),
        ("Seuil d'alerte", "Stock en dessous duquel l'article apparaît dans les alertes."),
        ("Stock initial", "Quantité en stock des articles créés par l'import (ignorée pour les autres)."),
        ("Modèle", "Pour une déclinaison (taille, couleur) : la référence de l'article modèle."),
        ("Taille", "La taille de la déclinaison (S, M, 38…)."),
        ("Couleur", "La couleur de la déclinaison."),
        ("Image", "Le fichier de la photo de l'article, copié dans le dossier images/ des données."),
        ("", ""),
        (
            "Feuille Catégories",
            "Facultative : une ligne par catégorie (couleur #RRVVBB, oui/non pour les options).",
        ),
        ("Titres-restaurant", "Articles payables en titres-restaurant."),
        ("Hors fidélité", "Exclus du programme de fidélité (tabac, presse, jeux de hasard)."),
        ("Alcool", "Alcool : fidélité seulement si la boutique l'autorise (loyalty.alcohol_earns)."),
        ("Livres", "Remise plafonnée à 5 % (prix unique du livre)."),
    ):
        help_sheet.append(list(line))
    help_sheet.column_dimensions["A"].width = 16
    help_sheet.column_dimensions["B"].width = 90
    workbook.save(path)


def export_rows(db: SqliteDatabase, include_archived: bool = False) -> Iterable[list[Any]]:
    codes: dict[int, list[str]] = {}
    for code, aid in db.execute_sql("SELECT code, article_id FROM barcode ORDER BY code"):
        codes.setdefault(aid, []).append(code)
    thresholds = dict(db.execute_sql("SELECT article_id, threshold_milli FROM stock_alert").fetchall())
    variants = {
        aid: (parent_ref, size, colour)
        for aid, parent_ref, size, colour in db.execute_sql(
            "SELECT v.article_id, p.reference, v.size, v.colour FROM article_variant v "
            "JOIN article p ON p.id = v.parent_id"
        )
    }
    query = (
        "SELECT a.id, a.reference, a.name, c.name, a.vat_bp, a.price_cents, a.cost_cents, a.sold_by_weight, "
        "a.favourite, a.image FROM article a JOIN category c ON c.id = a.category_id "
        + ("" if include_archived else "WHERE a.archived = 0 ")
        + "ORDER BY c.position, a.name"
    )
    for aid, ref, name, category, vat, price, cost, by_weight, favourite, image in db.execute_sql(query):
        threshold = thresholds.get(aid)
        yield [
            ref,
            name,
            category,
            ";".join(codes.get(aid, [])),
            format_rate(vat),
            Decimal(price) / 100,
            Decimal(cost) / 100 if cost is not None else None,
            "oui" if by_weight else "non",
            "oui" if favourite else "non",
            Decimal(threshold) / 1000 if threshold is not None else None,
            None,  # initial stock: only for new articles; the stock itself is in the ledger
            *variants.get(aid, (None, None, None)),
            image or None,
        ]


def export_catalogue(db: SqliteDatabase, path: Path) -> int:
    """The active catalogue in the import's format (re-importable as is); returns the article count."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Catalogue")
    _widths(sheet)
    sheet.append(_headers())
    count = 0
    for values in export_rows(db):
        sheet.append(values)
        count += 1
    categories = workbook.create_sheet("Catégories")
    categories.append([header for header, _ in CATEGORY_COLUMNS.values()])
    for name, color, flags, image in db.execute_sql(
        "SELECT name, color, flags, image FROM category ORDER BY position, id"
    ):
        have = set(flags.split(","))
        categories.append([name, color, *("oui" if f in have else "non" for f in FLAG_KEYS), image or None])
    workbook.save(path)
    return count


def export_name(now: datetime | None = None) -> str:
    return f"catalogue-{(now or datetime.now(UTC)).strftime('%Y%m%d-%H%M')}.xlsx"
