"""The catalogue as the sale screen sees it: barcode look-up, search as you type, favourites."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from peewee import SqliteDatabase

from drivers.barcode import compile_layouts, parse_barcode

from .store import Article, Category


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


PLU_PREFIX = "PLU"  # a scale's article number is stored as barcode "PLU<digits>"


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
        rows = self.db.execute_sql(
            "SELECT a.id FROM article_search s JOIN article a ON a.id = s.rowid "
            "WHERE article_search MATCH ? AND a.archived = 0 ORDER BY rank LIMIT ?",
            (fts, limit),
        ).fetchall()
        ids = [r[0] for r in rows]
        if len(ids) < limit and text.strip().isdigit():
            prefix = text.strip()
            more = self.db.execute_sql(
                "SELECT article_id FROM barcode WHERE code >= ? AND code < ? LIMIT ?",
                (prefix, prefix + ":", limit - len(ids)),
            ).fetchall()
            ids += [r[0] for r in more if r[0] not in ids]
        if not ids:
            return []
        articles = {
            a.id: a for a in Article.select(Article, Category).join(Category).where(Article.id.in_(ids))
        }
        return [article_view(articles[i]) for i in ids if i in articles]

    def active_articles(self) -> list[ArticleView]:
        query = Article.select(Article, Category).join(Category).where(Article.archived == False)  # noqa: E712
        return [article_view(a) for a in query]

    def categories(self) -> list[CategoryView]:
        return [CategoryView(c.key, c.name, c.color) for c in Category.select().order_by(Category.position)]

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
