"""Browsing the catalog without typing: by category, a page at a time, A to Z.

Pages are keyset pages over (name, id), so the next page is one index read however
far down the list a person has scrolled, and a product added or renamed meanwhile
never makes a row appear twice or go missing between pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from app.services.catalog import ProductRow
from app.store.local import LocalStore
from app.store.models import Category, Product

PAGE = 60
#: the filter that shows products with no category
NO_CATEGORY = ""


@dataclass(frozen=True)
class CategoryCount:
    id: str  # NO_CATEGORY for products without one
    name: str
    products: int


@dataclass(frozen=True)
class BrowsePage:
    rows: list[ProductRow]
    more: bool  # another page follows

    @property
    def after(self) -> tuple[str, str] | None:
        """Where the next page starts (the last row's name and id)."""
        return (self.rows[-1].name, self.rows[-1].id) if self.rows else None


def categories(store: LocalStore) -> list[CategoryCount]:
    """Every category with how many products it holds, A to Z; "No category" last when used."""
    with store.db.read() as s:
        rows = s.execute(select(Category.id, Category.name, func.count(Product.id))
                         .outerjoin(Product, Product.category_id == Category.id)
                         .group_by(Category.id, Category.name).order_by(Category.name)).all()
        loose = s.scalar(select(func.count()).select_from(Product).where(Product.category_id.is_(None))) or 0
    found = [CategoryCount(r[0], r[1], int(r[2])) for r in rows]
    if loose:
        found.append(CategoryCount(NO_CATEGORY, "No category", int(loose)))
    return found


def browse(store: LocalStore, category_id: str | None = None, after: tuple[str, str] | None = None,
           limit: int = PAGE) -> BrowsePage:
    """A page of products A to Z (inactive ones too: this is for managing them).

    ``category_id`` None: every product; :data:`NO_CATEGORY`: those with none.
    ``after``: the (name, id) the previous page ended with."""
    query = select(Product)
    if category_id == NO_CATEGORY:
        query = query.where(Product.category_id.is_(None))
    elif category_id is not None:
        query = query.where(Product.category_id == category_id)
    if after is not None:
        name, pid = after
        query = query.where(or_(Product.name > name, and_(Product.name == name, Product.id > pid)))
    with store.db.read() as s:
        found = list(s.scalars(query.order_by(Product.name, Product.id).limit(limit + 1)))
    rows = [ProductRow(p.id, p.sku, p.name, p.price, p.tax_rate_ppm, p.sold_by_weight, p.active)
            for p in found[:limit]]
    return BrowsePage(rows, len(found) > limit)
