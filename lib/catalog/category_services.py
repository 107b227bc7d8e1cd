"""Managing the category tree: create, edit, move (re-parent) and delete categories.

Slugs are flat and stable: moving a category never changes its slug or its products' URLs.
The tree is small (hundreds of rows), so walking it is done in memory from one query.
Every write forgets the cached listings it changes once the transaction commits: a listing
of a category includes its descendants' products, so the ancestors' listings go too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Count, ProtectedError
from django.utils.text import slugify

from db.models import Category, Product
from lib.catalog.cache import catalog_cache_invalidate
from lib.catalog.sanitize import plain_text, rich_text_clean, text_clean
from lib.errors import ApiError, Conflict, NotFound

TreeLinks = dict[Any, Any]  # category id -> parent id
Cleaner = Callable[[str], str]

# How each editable text field is cleaned on write.
TEXT_CLEANERS: dict[str, Cleaner] = {
    "name_en": text_clean,
    "name_bn": text_clean,
    "description_en": rich_text_clean,
    "description_bn": rich_text_clean,
    "seo_title_en": text_clean,
    "seo_title_bn": text_clean,
    "seo_description_en": plain_text,
    "seo_description_bn": plain_text,
    "seo_keywords": text_clean,
}
CATEGORY_FIELDS = frozenset(
    {*TEXT_CLEANERS.keys() - {"seo_keywords"}, "slug", "sort_order", "is_active", "parent"}
)
# Changes that alter what a product page shows of its category (breadcrumb, visibility).
CATEGORY_FIELDS_SHOWN_ON_PRODUCTS = frozenset({"name_en", "name_bn", "slug", "is_active", "parent"})


# --- helpers shared with the product services ------------------------------------------


def model_apply(instance: models.Model, changes: Mapping[str, Any]) -> list[str]:
    """Set `changes` on `instance` (text cleaned), returning the fields that really changed."""
    changed = []
    for field, value in changes.items():
        cleaner = TEXT_CLEANERS.get(field)
        if cleaner is not None:
            value = cleaner(value or "")
        if getattr(instance, field) != value:
            setattr(instance, field, value)
            changed.append(field)
    if "name_en" in changes and not instance.name_en:
        raise ApiError("validation_error", status=422, fields={"name_en": ["Enter a name."]})
    return changed


def slug_unique(model: type[models.Model], *, source: str, fallback: str) -> str:
    """A free slug made from `source` (an English name): `silk-panjabi`, else `silk-panjabi-2`,
    `-3`, ... One query. A Bangla-only name slugs to `fallback`."""
    max_length = model._meta.get_field("slug").max_length - 8
    base = slugify(source)[:max_length].strip("-") or fallback
    taken = set(
        model.objects.filter(slug__regex=rf"^{base}(-[0-9]+)?$").values_list("slug", flat=True)
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def slug_check_free(model: type[models.Model], *, slug: str, exclude_pk: Any = None) -> None:
    taken = model.objects.filter(slug=slug).exclude(pk=exclude_pk).exists()
    if taken:
        raise Conflict("slug_taken", fields={"slug": [f"The slug '{slug}' is already in use."]})


def cache_invalidate_on_commit(
    *, product_ids: Iterable[Any] = (), category_ids: Iterable[Any] = ()
) -> None:
    """After the transaction commits, forget these products and the listings of these
    categories (the cache adds the products' categories and every ancestor). A cache failure
    does not undo the write."""
    products = [str(pk) for pk in product_ids if pk is not None]
    categories = [str(pk) for pk in category_ids if pk is not None]
    transaction.on_commit(
        lambda: catalog_cache_invalidate(product_ids=products, category_ids=categories),
        robust=True,
    )


# --- the tree, in memory ------------------------------------------------------------


def category_tree_links(*, lock: bool = False) -> TreeLinks:
    """Every category's parent, in one query; `lock` holds the rows until commit, so two
    concurrent moves cannot build a cycle between them."""
    rows = Category.objects.order_by("pk")
    if lock:
        rows = rows.select_for_update()
    return {pk: parent_id for pk, parent_id in rows.values_list("id", "parent_id")}


def category_ancestor_ids(category_id: Any, links: TreeLinks) -> list:
    """`category_id`, its parent, grandparent, ... up to the root."""
    trail, node = [], category_id
    while node is not None and node not in trail:
        trail.append(node)
        node = links.get(node)
    return trail


def category_subtree_ids(category_id: Any, links: TreeLinks) -> list:
    """`category_id` and every category below it."""
    children: dict[Any, list] = {}
    for pk, parent_id in links.items():
        children.setdefault(parent_id, []).append(pk)
    ids, frontier = [category_id], [category_id]
    while frontier:
        frontier = [child for pk in frontier for child in children.get(pk, [])]
        ids.extend(frontier)
    return ids


# --- reads for the management UI -------------------------------------------------------


def category_admin_get(*, category_id: Any) -> Category:
    category = Category.objects.annotate(product_count=Count("products")).filter(pk=category_id)
    found = category.first()
    if found is None:
        raise NotFound(fields={"id": [str(category_id)]})
    return found


def category_admin_list() -> list[Category]:
    """Every category, active or not, with `product_count`, `depth` and `tree_children`,
    in tree order (depth first, siblings by sort order then name). One query."""
    categories = list(
        Category.objects.annotate(product_count=Count("products")).order_by(
            "sort_order", "name_en", "id"
        )
    )
    by_parent: dict[Any, list[Category]] = {}
    for category in categories:
        by_parent.setdefault(category.parent_id, []).append(category)
    ordered: list[Category] = []

    def visit(category: Category, depth: int) -> None:
        category.depth = depth
        category.tree_children = by_parent.get(category.pk, [])
        ordered.append(category)
        for child in category.tree_children:
            visit(child, depth + 1)

    for root in by_parent.get(None, []):
        visit(root, 0)
    return ordered


def category_admin_tree() -> list[Category]:
    """The top-level categories, each with its `tree_children`, recursively. One query."""
    return [category for category in category_admin_list() if category.parent_id is None]


# --- writes ----------------------------------------------------------------------------


def category_parent_check(*, category_id: Any, parent_id: Any, links: TreeLinks) -> None:
    """422 when `parent_id` is unknown or is the category itself or one of its descendants."""
    if parent_id is None:
        return
    if parent_id not in links:
        raise ApiError("validation_error", status=422, fields={"parent": [str(parent_id)]})
    if category_id is not None and category_id in category_ancestor_ids(parent_id, links):
        raise ApiError("category_cycle", status=422, fields={"parent": [str(parent_id)]})


def category_create(*, data: Mapping[str, Any]) -> Category:
    data = dict(data)
    parent_id = data.pop("parent", None)
    category = Category()
    model_apply(category, data)
    with transaction.atomic():
        if parent_id is not None:
            if not Category.objects.filter(pk=parent_id).exists():
                raise ApiError("validation_error", status=422, fields={"parent": [str(parent_id)]})
            category.parent_id = parent_id
        if category.slug:
            slug_check_free(Category, slug=category.slug)
        else:
            category.slug = slug_unique(Category, source=category.name_en, fallback="category")
        category_save(category)
        cache_invalidate_on_commit(category_ids=[category.parent_id])
    category.product_count = 0
    return category


def category_update(*, category: Category, changes: Mapping[str, Any]) -> Category:
    """Edit a category; a `parent` change moves it (and its subtree) under another category or
    to the root (`None`). Its slug stays as it is unless `slug` itself is changed."""
    unknown = set(changes) - CATEGORY_FIELDS
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    changes = dict(changes)
    moving = "parent" in changes and changes["parent"] != category.parent_id
    new_parent_id = changes.pop("parent", category.parent_id)
    old_parent_id = category.parent_id
    with transaction.atomic():
        changed = model_apply(category, changes)
        if moving:
            links = category_tree_links(lock=True)
            category_parent_check(category_id=category.pk, parent_id=new_parent_id, links=links)
            category.parent_id = new_parent_id
            changed.append("parent")
        if not changed:
            return category
        if "slug" in changed:
            slug_check_free(Category, slug=category.slug, exclude_pk=category.pk)
        category_save(category, update_fields=[*changed, "updated_at"])
        product_ids: list = []
        if CATEGORY_FIELDS_SHOWN_ON_PRODUCTS.intersection(changed):
            subtree = category_subtree_ids(category.pk, links if moving else category_tree_links())
            product_ids = list(
                Product.objects.filter(category_id__in=subtree).values_list("id", flat=True)
            )
        cache_invalidate_on_commit(
            product_ids=product_ids, category_ids=[category.pk, old_parent_id, new_parent_id]
        )
    return category


def category_save(category: Category, *, update_fields: list[str] | None = None) -> None:
    """Save, turning a slug taken meanwhile by a concurrent writer into a 409."""
    try:
        with transaction.atomic():
            category.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise Conflict("slug_taken", fields={"slug": [category.slug]}) from exc


def category_delete(*, category: Category) -> None:
    """Delete an empty category; one with subcategories or products is refused (409)."""
    category_id, parent_id = category.pk, category.parent_id
    if Category.objects.filter(parent=category_id).exists():
        raise Conflict("category_has_children", fields={"id": [str(category_id)]})
    if Product.objects.filter(category=category_id).exists():
        raise Conflict("category_has_products", fields={"id": [str(category_id)]})
    with transaction.atomic():
        try:
            with transaction.atomic():
                category.delete()
        except (ProtectedError, IntegrityError) as exc:  # a product or child added meanwhile
            raise Conflict("category_has_products", fields={"id": [str(category_id)]}) from exc
        cache_invalidate_on_commit(category_ids=[category_id, parent_id])
