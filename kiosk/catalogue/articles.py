"""The catalogue as the sale screen sees it: barcode look-up, search as you type, favourites."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from peewee import SqliteDatabase, fn

from kiosk.catalogue.barcode import PLU_PREFIX, compile_layouts, parse_barcode
from kiosk.staff.permissions import require
from kiosk.store import Article, Barcode, Category


@dataclass(frozen=True)
class ArticleView:
    id: int
    reference: str
    name: str
    price_cents: int
    vat_bp: int
    sold_by_weight: bool
    category: str
    barcode: str | None = None


@dataclass(frozen=True)
class CategoryView:
    key: str
    name: str
    color: str


def article_view(article: Article, barcode: str | None = None) -> ArticleView:
    return ArticleView(
        id=article.id,
        reference=article.reference,
        name=article.name,
        price_cents=article.price_cents,
        vat_bp=article.vat_bp,
        sold_by_weight=article.sold_by_weight,
        category=article.category.key,
        barcode=barcode,
    )


@dataclass(frozen=True)
class ScanMatch:
    """An article and, for a scale label, the weight (kg) or the price (cents) it carries."""

    article: ArticleView
    weight: Decimal | None = None
    price: int | None = None


def _row_view(row: tuple[Any, ...]) -> ArticleView:
    article_id, reference, name, price, vat, by_weight, category, barcode = row
    return ArticleView(article_id, reference, name, price, vat, bool(by_weight), category, barcode)


_VIEW_COLUMNS = "a.id, a.reference, a.name, a.price_cents, a.vat_bp, a.sold_by_weight, c.key"
_TOKEN = re.compile(r"[\w-]+", re.UNICODE)
RANK_WINDOW = 300


class Catalogue:
    def __init__(self, db: SqliteDatabase, label_layouts: Iterable[str] = ()):
        self.db = db
        self.label_layouts = compile_layouts(label_layouts)

    def by_code(self, code: str) -> ArticleView | None:
        match = self.resolve(code)
        return match.article if match else None

    def resolve(self, code: str) -> ScanMatch | None:
        """What a scanned or typed code sells: an article by barcode (UPC-A and EAN-8 also in their
        13-digit form) or reference, or a scale label (GS1 prefixes 20-29, `barcodes.scale_labels`)
        whose article digits are its PLU and which carries the weight or the price.

        Raises drivers.barcode.BarcodeError (French, says what to do) for a misread code.
        """
        parsed = parse_barcode(code, self.label_layouts)
        if parsed.kind in ("variable_weight", "variable_price"):
            article = self._by_barcode([PLU_PREFIX + parsed.key])
            return ScanMatch(article, parsed.weight, parsed.price) if article else None
        if parsed.kind == "credit_note":
            return None
        candidates = [parsed.code] + (
            [parsed.gtin13] if parsed.gtin13 and parsed.gtin13 != parsed.code else []
        )
        article = self._by_barcode(candidates)
        if article is None:
            row = self.db.execute_sql(
                f"SELECT {_VIEW_COLUMNS}, NULL FROM article a JOIN category c ON c.id = a.category_id "
                "WHERE a.reference = ? AND a.archived = 0",
                (parsed.code,),
            ).fetchone()
            article = _row_view(row) if row else None
        return ScanMatch(article) if article else None

    def _by_barcode(self, candidates: list[str]) -> ArticleView | None:
        # Plain SQL on the scan path: building this query with peewee cost more than running it.
        row = self.db.execute_sql(
            f"SELECT {_VIEW_COLUMNS}, b.code FROM barcode b JOIN article a ON a.id = b.article_id "
            "JOIN category c ON c.id = a.category_id WHERE b.code IN (?, ?) AND a.archived = 0 LIMIT 1",
            (candidates[0], candidates[-1]),
        ).fetchone()
        return _row_view(row) if row else None

    def get(self, article_id: int) -> ArticleView | None:
        article = Article.select(Article, Category).join(Category).where(Article.id == article_id).first()
        return article_view(article) if article and not article.archived else None

    def search(self, text: str, limit: int = 30) -> list[ArticleView]:
        """Accent/case-insensitive prefix search on name and reference; digits also match barcode prefixes."""
        tokens = _TOKEN.findall(text)
        if not tokens:
            return []
        fts = " ".join('"' + t.replace('"', "") + '"*' for t in tokens)
        # Ranking every match of a short prefix ("co", "gen-0") costs a scan of the whole index: the best
        # `limit` are taken among the first RANK_WINDOW matches, ranked by bm25 (all of them when fewer).
        rows = self.db.execute_sql(
            "SELECT a.id, s.rank FROM article_search s JOIN article a ON a.id = s.rowid "
            "WHERE article_search MATCH ? AND a.archived = 0 LIMIT ?",
            (fts, RANK_WINDOW),
        ).fetchall()
        rows.sort(key=lambda r: r[1])
        ids = [r[0] for r in rows[:limit]]
        if len(ids) < limit and text.strip().isdigit():
            prefix = text.strip()
            more = self.db.execute_sql(
                "SELECT b.article_id FROM barcode b JOIN article a ON a.id = b.article_id "
                "WHERE b.code >= ? AND b.code < ? AND a.archived = 0 LIMIT ?",
                (prefix, prefix + ":", limit),
            ).fetchall()
            ids += [i for i in dict.fromkeys(r[0] for r in more) if i not in ids][: limit - len(ids)]
        if not ids:
            return []
        articles = {
            a.id: a for a in Article.select(Article, Category).join(Category).where(Article.id.in_(ids))
        }
        return [article_view(articles[i]) for i in ids if i in articles]

    def variants(self, article_id: int) -> list[ArticleView]:
        """The variants of a model article, to choose from when the model itself is picked."""
        rows = self.db.execute_sql(
            f"SELECT {_VIEW_COLUMNS}, (SELECT MIN(code) FROM barcode WHERE article_id = a.id) "
            "FROM article_variant v JOIN article a ON a.id = v.article_id JOIN category c ON c.id = a.category_id "
            "WHERE v.parent_id = ? AND a.archived = 0 ORDER BY v.rowid",
            (article_id,),
        ).fetchall()
        return [_row_view(r) for r in rows]

    def active_articles(self) -> list[ArticleView]:
        query = Article.select(Article, Category).join(Category).where(Article.archived == False)  # noqa: E712
        return [article_view(a) for a in query]

    def categories(self) -> list[CategoryView]:
        return [CategoryView(c.key, c.name, c.color) for c in Category.select().order_by(Category.position)]

    def active_counts(self) -> dict[str, int]:
        """Active articles per category key (a category with none is absent)."""
        query = (
            Category.select(Category.key, fn.COUNT(Article.id).alias("n"))
            .join(Article)
            .where(Article.archived == False)  # noqa: E712
            .group_by(Category.key)
        )
        rows = cast("Iterable[tuple[str, int]]", query.tuples())
        return {str(key): int(n) for key, n in rows}

    def favourites(self) -> dict[str, list[ArticleView]]:
        """Favourite articles grouped by category key, in category order then name."""
        query = (
            Article.select(Article, Category)
            .join(Category)
            .where(Article.favourite == True, Article.archived == False)  # noqa: E712
            .order_by(Category.position, Article.name)
        )
        grouped: dict[str, list[ArticleView]] = {}
        for article in query:
            grouped.setdefault(article.category.key, []).append(article_view(article))
        return grouped


# -- editing (manager screens) ------------------------------------------------------------------------
CATEGORY_FLAGS = {
    "meal_voucher": "Titres-restaurant acceptés",
    "no_loyalty": "Exclue de la fidélité",
    "book": "Livres (remise plafonnée à 5 %)",
    "alcohol": "Alcool (fidélité seulement si la boutique l'autorise)",
}


class CatalogueEditError(ValueError):
    """An edit refused: the message says what to correct (French); nothing was written."""


@dataclass(frozen=True)
class ArticleDraft:
    """What the article form holds, as typed: checked and converted by `Catalogue.save_article`."""

    name: str
    reference: str
    category: str  # category key
    barcodes: str
    vat: str
    price: str
    cost: str = ""
    sold_by_weight: bool = False
    favourite: bool = False
    threshold: str = ""
    image: str = ""


@dataclass(frozen=True)
class ArticleSheet:
    """Everything about one article, for its product sheet and its edit form."""

    article: ArticleView
    category_name: str
    barcodes: tuple[str, ...]
    cost_cents: int | None
    favourite: bool
    archived: bool
    threshold_milli: int | None
    stock_milli: int
    image: str = ""  # reference of the article's picture (a file name in the data directory's images/)


@dataclass(frozen=True)
class VariantView:
    article_id: int
    size: str
    colour: str
    price_delta_cents: int
    reference: str
    name: str
    price_cents: int
    archived: bool
    stock_milli: int
    barcodes: str

    @property
    def label(self) -> str:
        return " ".join(x for x in (self.size, self.colour) if x)


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def check_image(text: str) -> str:
    """An image reference: a file name (in the data directory's images/) or a path, printable text."""
    image = text.strip()
    if len(image) > 200 or any(not c.isprintable() for c in image):
        raise CatalogueEditError("Image : un nom de fichier de 200 caractères au plus, comme baguette.png.")
    return image


def _has(member: Any, permission: str) -> None:
    require(member, permission)


class CatalogueEditor:
    """Create, edit, archive or delete articles and categories; every act checks the member's role."""

    def __init__(self, db: SqliteDatabase):
        self.db = db

    def sheet(self, article_id: int) -> ArticleSheet | None:
        found = self._sheets([article_id])
        return found[0] if found else None

    def articles(
        self, text: str = "", include_archived: bool = False, limit: int = 200
    ) -> list[ArticleSheet]:
        """Articles for the manager's list: matching `text` (name, reference, barcode prefix) or all."""
        if text.strip():
            ids = [a.id for a in Catalogue(self.db).search(text, limit=limit)]
            if include_archived:
                pattern = f"%{text.strip()}%"
                ids += [
                    r[0]
                    for r in self.db.execute_sql(
                        "SELECT id FROM article WHERE archived = 1 AND (name LIKE ? OR reference LIKE ?) LIMIT ?",
                        (pattern, pattern, limit),
                    )
                ]
        else:
            where = "" if include_archived else "WHERE a.archived = 0 "
            ids = [
                r[0]
                for r in self.db.execute_sql(
                    f"SELECT a.id FROM article a JOIN category c ON c.id = a.category_id {where}"
                    "ORDER BY c.position, a.name LIMIT ?",
                    (limit,),
                )
            ]
        return self._sheets(ids)

    def _sheets(self, ids: list[int]) -> list[ArticleSheet]:
        """The sheets of `ids`, in that order, in one query (the manager's list redraws per keystroke)."""
        if not ids:
            return []
        rows = self.db.execute_sql(
            f"SELECT {_VIEW_COLUMNS}, c.name, a.cost_cents, a.favourite, a.archived, s.threshold_milli, "
            "COALESCE(sb.qty_milli, 0), a.image, (SELECT group_concat(code, ';') FROM "
            "(SELECT code FROM barcode WHERE article_id = a.id ORDER BY code)) "
            "FROM article a JOIN category c ON c.id = a.category_id "
            "LEFT JOIN stock_alert s ON s.article_id = a.id LEFT JOIN stock_balance sb ON sb.article_id = a.id "
            f"WHERE a.id IN ({','.join('?' * len(ids))})",
            ids,
        ).fetchall()
        by_id = {}
        for r in rows:
            codes = tuple(r[14].split(";")) if r[14] else ()
            view = _row_view((*r[:7], codes[0] if codes else None))
            by_id[r[0]] = ArticleSheet(view, r[7], codes, r[8], bool(r[9]), bool(r[10]), r[11], r[12], r[13])
        return [by_id[i] for i in ids if i in by_id]

    def save_article(self, member: Any, draft: ArticleDraft, article_id: int | None = None) -> int:
        """Create (article_id None) or update an article from the form; returns its id."""
        from kiosk.catalogue.cells import CellError, read_barcodes, read_price, read_threshold, read_vat

        _has(member, "catalogue")
        name = " ".join(draft.name.split())
        reference = draft.reference.strip()
        if not name:
            raise CatalogueEditError("Saisissez le libellé de l'article.")
        try:
            barcodes = read_barcodes(draft.barcodes.replace(",", ";"))
            vat = read_vat(draft.vat)
            price = read_price(draft.price, "Prix TTC")
            cost = read_price(draft.cost, "Prix d'achat") if draft.cost.strip() else None
            threshold = read_threshold(draft.threshold)
        except CellError as exc:
            raise CatalogueEditError(str(exc)) from None
        if not reference:
            if not barcodes:
                raise CatalogueEditError("Saisissez une référence ou un code-barres.")
            reference = barcodes[0]
        category = Category.get_or_none(Category.key == draft.category)
        if category is None:
            raise CatalogueEditError("Choisissez la catégorie de l'article.")
        image = check_image(draft.image)
        clash = Article.get_or_none((Article.reference == reference) & (Article.id != (article_id or 0)))
        if clash is not None:
            raise CatalogueEditError(
                f"La référence {reference} est déjà celle de « {clash.name} » : changez-la."
            )
        for code in barcodes:
            owner = Barcode.get_or_none(Barcode.code == code)
            if owner is not None and owner.article.id != article_id and not owner.article.archived:
                raise CatalogueEditError(
                    f"Le code-barres {code} est déjà celui de « {owner.article.name} » : vérifiez-le."
                )
        fields = dict(
            reference=reference,
            name=name,
            category=category,
            vat_bp=vat,
            price_cents=price,
            cost_cents=cost,
            sold_by_weight=draft.sold_by_weight,
            favourite=draft.favourite,
        )
        with self.db.atomic():
            if article_id is None:
                article_id = int(Article.create(**fields).id)
            else:
                Article.update(**fields).where(Article.id == article_id).execute()
            Barcode.delete().where(Barcode.article == article_id).execute()
            for code in barcodes:
                Barcode.replace(code=code, article=article_id).execute()
            self.db.execute_sql("UPDATE article SET image = ? WHERE id = ?", (image, article_id))
            self.db.execute_sql("DELETE FROM stock_alert WHERE article_id = ?", (article_id,))
            if threshold is not None:
                self.db.execute_sql(
                    "INSERT INTO stock_alert (article_id, threshold_milli) VALUES (?, ?)",
                    (article_id, threshold),
                )
            self.db.execute_sql(  # a variant priced by hand keeps its new delta
                "UPDATE article_variant SET price_delta_cents = "
                "? - (SELECT price_cents FROM article WHERE id = parent_id) WHERE article_id = ?",
                (price, article_id),
            )
            # the variants follow their model: category, VAT, price (+ their delta)
            self.db.execute_sql(
                "UPDATE article SET category_id = ?, vat_bp = ?, "
                "price_cents = ? + (SELECT price_delta_cents FROM article_variant v WHERE v.article_id = article.id) "
                "WHERE id IN (SELECT article_id FROM article_variant WHERE parent_id = ?)",
                (category.id, vat, price, article_id),
            )
        return article_id

    def variants(self, parent_id: int, include_archived: bool = False) -> list[VariantView]:
        rows = self.db.execute_sql(
            "SELECT v.article_id, v.size, v.colour, v.price_delta_cents, a.reference, a.name, a.price_cents, "
            "a.archived, COALESCE(b.qty_milli, 0), "
            "(SELECT group_concat(code, ';') FROM barcode WHERE article_id = a.id) "
            "FROM article_variant v JOIN article a ON a.id = v.article_id "
            "LEFT JOIN stock_balance b ON b.article_id = a.id WHERE v.parent_id = ? "
            + ("" if include_archived else "AND a.archived = 0 ")
            + "ORDER BY v.rowid",
            (parent_id,),
        ).fetchall()
        return [
            VariantView(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9] or "") for r in rows
        ]

    def add_variants(
        self,
        member: Any,
        parent_id: int,
        sizes: Iterable[str],
        colours: Iterable[str],
        price_delta: str = "",
        barcodes: str = "",
    ) -> list[int]:
        """Create the size × colour variants of a model article (each its own article: reference, barcode,
        price, stock). `barcodes` (one per new variant, in order) is optional. Returns the new ids."""
        from kiosk.catalogue.cells import CellError, read_barcodes, read_decimal

        _has(member, "catalogue")
        parent = Article.get_or_none(Article.id == parent_id)
        if parent is None:
            raise CatalogueEditError("Article introuvable : choisissez-le de nouveau.")
        if self.db.execute_sql("SELECT 1 FROM article_variant WHERE article_id = ?", (parent_id,)).fetchone():
            raise CatalogueEditError("Cet article est déjà une déclinaison : choisissez l'article modèle.")
        size_list = [" ".join(x.split()) for x in sizes if x.strip()] or [""]
        colour_list = [" ".join(x.split()) for x in colours if x.strip()] or [""]
        if size_list == [""] and colour_list == [""]:
            raise CatalogueEditError("Saisissez au moins une taille ou une couleur.")
        try:
            delta = read_decimal(price_delta, "Écart de prix") if price_delta.strip() else None
            codes = read_barcodes(barcodes.replace(",", ";"))
        except CellError as exc:
            raise CatalogueEditError(str(exc)) from None
        delta_cents = int(delta * 100) if delta is not None else 0
        if delta is not None and delta * 100 != delta_cents:
            raise CatalogueEditError("Écart de prix : deux décimales au plus.")
        if parent.price_cents + delta_cents <= 0:
            raise CatalogueEditError("Le prix de la déclinaison doit rester supérieur à 0,00 €.")
        combos = [(size, colour) for size in size_list for colour in colour_list]
        if len(codes) > len(combos):
            raise CatalogueEditError(
                f"{len(codes)} codes-barres pour {len(combos)} déclinaison(s) : un code par déclinaison."
            )
        existing = {(v.size, v.colour) for v in self.variants(parent_id, include_archived=True)}
        created = []
        with self.db.atomic():
            for index, (size, colour) in enumerate(combos):
                label = " ".join(x for x in (size, colour) if x)
                if (size, colour) in existing:
                    raise CatalogueEditError(f"La déclinaison {label} existe déjà.")
                suffix = "-".join(re.sub(r"[^A-Z0-9]+", "", _plain(x).upper()) for x in (size, colour) if x)
                reference = f"{parent.reference}-{suffix}"
                if Article.get_or_none(Article.reference == reference) is not None:
                    raise CatalogueEditError(
                        f"La référence {reference} existe déjà : changez la taille ou la couleur."
                    )
                child = Article.create(
                    reference=reference,
                    name=f"{parent.name} {label}"[:80],
                    category=parent.category,
                    vat_bp=parent.vat_bp,
                    price_cents=parent.price_cents + delta_cents,
                    cost_cents=parent.cost_cents,
                )
                self.db.execute_sql(
                    "INSERT INTO article_variant (article_id, parent_id, size, colour, price_delta_cents) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (child.id, parent_id, size, colour, delta_cents),
                )
                if index < len(codes):
                    owner = Barcode.get_or_none(Barcode.code == codes[index])
                    if owner is not None and not owner.article.archived:
                        raise CatalogueEditError(
                            f"Le code-barres {codes[index]} est déjà celui de « {owner.article.name} »."
                        )
                    Barcode.replace(code=codes[index], article=child.id).execute()
                created.append(int(child.id))
        return created

    def was_sold(self, article_id: int) -> bool:
        """Sold, refunded or moved in stock: such an article is archived, never deleted."""
        reference = Article.get_by_id(article_id).reference
        if self.db.execute_sql(
            "SELECT 1 FROM stock_movement WHERE article_id = ? LIMIT 1", (article_id,)
        ).fetchone():
            return True
        needle = '"ref":' + json.dumps(reference, ensure_ascii=False)
        return bool(
            self.db.execute_sql(
                "SELECT 1 FROM fiscal_record WHERE rtype IN ('SALE', 'RETURN') AND instr(body, ?) > 0 LIMIT 1",
                (needle,),
            ).fetchone()
        )

    def remove_article(self, member: Any, article_id: int) -> str:
        """Delete an article never sold; archive one that was (its tickets keep naming it).
        Returns "deleted" or "archived"."""
        _has(member, "catalogue")
        if self.was_sold(article_id):
            Article.update(archived=True).where(Article.id == article_id).execute()
            return "archived"
        with self.db.atomic():
            Article.delete().where(Article.id == article_id).execute()
        return "deleted"

    def restore_article(self, member: Any, article_id: int) -> None:
        _has(member, "catalogue")
        Article.update(archived=False).where(Article.id == article_id).execute()

    def category_image(self, key: str) -> str:
        row = self.db.execute_sql("SELECT image FROM category WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else ""

    def save_category(
        self,
        member: Any,
        name: str,
        color: str = "#888888",
        flags: Iterable[str] = (),
        key: str | None = None,
        image: str = "",
    ) -> str:
        """Create (key None) or update a category; returns its key."""
        _has(member, "catalogue")
        name = " ".join(name.split())
        if not name:
            raise CatalogueEditError("Saisissez le nom de la catégorie.")
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", color.strip()):
            raise CatalogueEditError("Couleur invalide : saisissez-la comme #3366CC.")
        unknown = set(flags) - set(CATEGORY_FLAGS)
        if unknown:
            raise CatalogueEditError(f"Option de catégorie inconnue : {', '.join(sorted(unknown))}.")
        same_name = Category.get_or_none((Category.name == name) & (Category.key != (key or "")))
        if same_name is not None:
            raise CatalogueEditError(f"La catégorie « {name} » existe déjà.")
        text_flags = ",".join(sorted(set(flags)))
        if key is None:
            from kiosk.catalogue.cells import slug

            key = base = slug(name).replace("-", "_")
            n = 2
            while Category.get_or_none(Category.key == key) is not None:
                key, n = f"{base}_{n}", n + 1
            position = (Category.select().count() or 0) + 1
            Category.create(key=key, name=name, color=color.strip(), position=position, flags=text_flags)
        else:
            Category.update(name=name, color=color.strip(), flags=text_flags).where(
                Category.key == key
            ).execute()
        self.db.execute_sql("UPDATE category SET image = ? WHERE key = ?", (check_image(image), key))
        return key

    def move_category(self, member: Any, key: str, position: int) -> None:
        """Put a category at `position` (1 = first tab, first button colour row); the others follow."""
        _has(member, "catalogue")
        keys = [c.key for c in Category.select().order_by(Category.position, Category.id) if c.key != key]
        keys.insert(max(0, min(position - 1, len(keys))), key)
        with self.db.atomic():
            for index, k in enumerate(keys, start=1):
                Category.update(position=index).where(Category.key == k).execute()

    def category_flags(self, key: str) -> set[str]:
        category = Category.get_or_none(Category.key == key)
        return {f for f in (category.flags.split(",") if category else []) if f}

    def remove_category(self, member: Any, key: str) -> None:
        _has(member, "catalogue")
        category = Category.get_or_none(Category.key == key)
        if category is None:
            return
        count = Article.select().where(Article.category == category).count()
        if count:
            raise CatalogueEditError(
                f"La catégorie « {category.name} » contient {count} article(s) : déplacez-les d'abord."
            )
        category.delete_instance()
