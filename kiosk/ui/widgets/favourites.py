"""The favourite keys: one tab per category, one touch key per favourite article (sale screen)."""

from __future__ import annotations

from textual.containers import Grid
from textual.content import Content
from textual.widgets import TabPane

from kiosk.catalogue.articles import Catalogue
from kiosk.common.money import format_eur
from kiosk.ui.widgets.keys import TouchKey


def favourite_panes(catalogue: Catalogue) -> list[TabPane]:
    """The tabs of the favourites grid as the catalogue has them now (built at start and after edits)."""
    favourites = catalogue.favourites()
    return [
        TabPane(
            category.name,
            Grid(
                *(
                    TouchKey(
                        Content(f"{article.name}\n{format_eur(article.price_cents)}"),
                        id=f"fav-{article.id}",
                        classes="fav",
                        compact=True,
                    )
                    for article in favourites[category.key]
                ),
                classes="fav-grid",
            ),
            id=f"cat-{category.key}",
        )
        for category in catalogue.categories()
        if favourites.get(category.key)
    ]
