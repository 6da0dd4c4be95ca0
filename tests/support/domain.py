"""Domain factories: articles, members, a verified ledger."""

from __future__ import annotations

from pathlib import Path

from fiscal.verify import verify_path
from kiosk.catalogue.articles import ArticleView
from kiosk.staff.service import StaffMember
from kiosk.store.db import DB_NAME
from kiosk.till import Till


def assert_verified(data_dir: Path) -> None:
    report = verify_path(data_dir / DB_NAME)
    assert report.ok, report.problems


def member(till: Till, name: str) -> StaffMember:
    return next(m for m in till.staff.members() if m.name == name)


def article(till: Till, category: str, skip: int = 0) -> ArticleView:
    found = [a for a in till.catalogue.active_articles() if a.category == category and not a.sold_by_weight]
    return found[skip]
