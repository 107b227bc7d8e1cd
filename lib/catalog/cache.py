"""Redis cache of catalog reads (`product:{id}:details`, `category:{id}:products`).

What is cached is the serialised JSON response, per language, so a hit costs no SQL query:
- `product:{id}:details`: hash, fields `en` / `bn` (the detail response) and `slug`; with
  `product:slug:{slug}` -> id to find it (checked against the hash's `slug` on every read).
- `category:{id}:products` (and `category:all:products` for the whole catalog): hash, one field
  per first page (`CACHED_PAGES`) of the plain listings (category, featured and ordering only)
  per page size and language.
- `catalog:categories`: hash of the category table (`rows`), one `slug:{slug}` -> id field per
  shown category and the serialised tree per language (`tree:en` / `tree:bn`).

Every write path that changes what a shopper sees (product, variation, image, stock, price,
rating, category) calls `catalog_cache_invalidate` after its transaction commits. Entries also
expire after `CATALOG_CACHE_TTL` seconds, a safety net for what no writer reports (carts'
reservations moving availability). A read that began before an invalidation never stores what it
read: fills go through a script that compares `catalog:version`, bumped by every invalidation.
A cache outage degrades to database reads; it never fails a request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse

from db.models import Category, Product
from lib.conf import config
from lib.i18n import request_language
from lib.kv import get_kv

if TYPE_CHECKING:
    from lib.catalog.selectors import CategoryIndex, ProductFilters
    from lib.pagination import CursorPageParams

logger = logging.getLogger("zest.catalog.cache")

CACHE_TTL = config.catalog_cache_ttl  # seconds; 0 turns the cache off
SLUG_TTL = 24 * 3600  # slug -> id only points the way; the hash it points to is checked
CACHED_PAGES = 3
VERSION_KEY = "catalog:version"
CATEGORIES_KEY = "catalog:categories"
ALL_PRODUCTS_KEY = "category:all:products"
DELETE_BATCH = 500
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

# KEYS: version key, hash key. ARGV: version read before the database, TTL, field, value, ...
# Stores nothing when an invalidation ran since; the TTL starts with the hash's first field, so
# no field outlives it.
FILL_SCRIPT = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
if redis.call('TTL', KEYS[2]) < 0 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return 1
"""


def product_key(product_id: Any) -> str:
    return f"product:{product_id}:details"


def product_slug_key(slug: str) -> str:
    return f"product:slug:{slug}"


def category_products_key(category_id: Any) -> str:
    return f"category:{category_id}:products"


# --- invalidation ----------------------------------------------------------------------------


def catalog_cache_invalidate(
    *, product_ids: Iterable[str] = (), category_ids: Iterable[str] = ()
) -> None:
    """Forget cached reads of these products and of listings of these categories.

    The listings of the products' current categories, of `category_ids` (pass a product's old
    category when it moved, or a deleted product's) and of all their ancestors go too, since a
    listing includes its subcategories. `category_ids` also drops the cached category tree.
    A product page shows its category trail: a category change shown there (name, slug,
    parent, active) passes the products below that category too.
    One query (categories and which of them hold the products) and one pipeline.
    """
    products = sorted({str(pk) for pk in product_ids if pk})
    categories = {str(pk) for pk in category_ids if pk}
    if not products and not categories:
        return
    try:
        listings = listing_categories(products, categories)
        keys = [product_key(pk) for pk in products]
        keys += [category_products_key(pk) for pk in sorted(listings)] + [ALL_PRODUCTS_KEY]
        if categories:
            keys.append(CATEGORIES_KEY)
        pipeline = get_kv().pipeline()
        for start in range(0, len(keys), DELETE_BATCH):
            pipeline.delete(*keys[start : start + DELETE_BATCH])
        pipeline.incr(VERSION_KEY)
        pipeline.exec()
    except Exception:
        # The write has committed; its pages go stale for at most CATALOG_CACHE_TTL.
        logger.exception("catalog cache invalidation failed")


def listing_categories(products: Sequence[str], categories: set[str]) -> set[str]:
    """`categories`, the categories holding `products`, and all their ancestors."""
    rows = Category.objects.all()
    if products:
        holding = Product.objects.filter(category=OuterRef("pk"), pk__in=products)
        rows = rows.annotate(holds=Exists(holding)).values_list("id", "parent_id", "holds")
    else:
        rows = rows.values_list("id", "parent_id")
    parents, starts = {}, set(categories)
    for pk, parent_id, *holds in rows:
        parents[str(pk)] = str(parent_id) if parent_id else None
        if holds and holds[0]:
            starts.add(str(pk))
    found: set[str] = set()
    for node in starts:
        while node is not None and node not in found:
            found.add(node)
            node = parents.get(node)
    return found


# --- reading through -------------------------------------------------------------------------


def kv_batch(commands: Sequence[Callable[[Any], Any]]) -> list[Any] | None:
    """Run commands (each `lambda p: p.get(...)`) in one pipeline; None when the store fails."""
    if CACHE_TTL <= 0:
        return None
    try:
        pipeline = get_kv().pipeline()
        for command in commands:
            command(pipeline)
        return pipeline.exec()
    except Exception:
        logger.warning("catalog cache read failed", exc_info=True)
        return None


def kv_fill(
    key: str,
    version: str | None,
    fields: dict[str, str],
    also: Sequence[Callable[[Any], Any]] = (),
) -> None:
    """Store `fields` in hash `key` unless the catalog changed since `version` was read;
    `also` runs in the same round trip."""
    args = [version or "", str(CACHE_TTL)]
    for field, value in fields.items():
        args += [field, value]
    kv_batch([lambda p: p.eval(FILL_SCRIPT, keys=[VERSION_KEY, key], args=args), *also])


def json_response(body: str, *, cache: str = "") -> HttpResponse:
    """A 200 with `body`; `X-Cache: HIT` or `MISS` on the responses the cache keeps."""
    response = HttpResponse(body.encode(), content_type=JSON_CONTENT_TYPE)
    response["Vary"] = "Accept-Language"
    if cache:
        response["X-Cache"] = cache
    return response


def render(schema: Any, obj: Any, request: HttpRequest) -> str:
    """The JSON a route with `response=schema` sends (UTF-8 Bangla, not \\u escapes)."""
    from ninja.responses import NinjaJSONEncoder

    data = schema.model_validate(obj, context={"request": request}).model_dump()
    return json.dumps(data, cls=NinjaJSONEncoder, ensure_ascii=False)


# Selectors and schemas are imported where used: they import lib.inventory, which imports this
# module to invalidate.


def category_index_cached() -> CategoryIndex:
    from lib.catalog import selectors

    replies = kv_batch([lambda p: p.hget(CATEGORIES_KEY, "rows"), lambda p: p.get(VERSION_KEY)])
    rows, version = replies or (None, None)
    if rows:
        return selectors.CategoryIndex(json.loads(rows))
    index = selectors.category_index()
    category_index_fill(index, version)
    return index


def category_index_fill(index: CategoryIndex, version: str | None, **fields: str) -> None:
    slugs = {f"slug:{slug}": pk for slug, pk in index.slugs.items()}
    kv_fill(CATEGORIES_KEY, version, {"rows": json.dumps(index.rows), **slugs, **fields})


def category_tree_response(request: HttpRequest) -> HttpResponse:
    """The shown category tree: one query on a miss, none on a hit."""
    from lib.catalog import selectors
    from lib.catalog.schemas import CategoryTreeOut

    field = f"tree:{request_language(request)}"
    replies = kv_batch([lambda p: p.hget(CATEGORIES_KEY, field), lambda p: p.get(VERSION_KEY)])
    body, version = replies or (None, None)
    if body:
        return json_response(body, cache="HIT")
    index = selectors.category_index()
    body = render(CategoryTreeOut, {"items": index.tree()}, request)
    category_index_fill(index, version, **{field: body})
    return json_response(body, cache="MISS")


def product_page_response(
    request: HttpRequest, *, filters: ProductFilters, params: CursorPageParams
) -> HttpResponse:
    """A listing page. The first pages of plain listings come from the cache (one KV round
    trip, two with a category, no query); anything else costs the count and the page (plus
    the category table when its cached copy is gone)."""
    from lib.catalog import selectors
    from lib.catalog.schemas import ProductPageOut

    def build(index: CategoryIndex) -> str:
        page = selectors.product_page(filters=filters, params=params, categories=index)
        return render(ProductPageOut, page, request)

    if not (filters.browsing and params.cursor is None and params.page <= CACHED_PAGES):
        return json_response(build(category_index_cached()))
    index = None
    key = ALL_PRODUCTS_KEY
    if filters.category:
        slug_field = f"slug:{filters.category}"
        category_id = (kv_batch([lambda p: p.hget(CATEGORIES_KEY, slug_field)]) or [None])[0]
        if category_id is None:
            index = category_index_cached()
            category_id = index.category_id(filters.category)
        key = category_products_key(category_id)
    language = request_language(request)
    field = f"{filters.ordering}:{filters.featured}:{params.page}:{params.page_size}:{language}"
    replies = kv_batch([lambda p: p.hget(key, field), lambda p: p.get(VERSION_KEY)])
    body, version = replies or (None, None)
    if body:
        return json_response(body, cache="HIT")
    body = build(index or category_index_cached())
    kv_fill(key, version, {field: body})
    return json_response(body, cache="MISS")


def product_detail_response(request: HttpRequest, *, slug: str) -> HttpResponse:
    """A product page: two KV round trips and no query on a hit, three queries on a miss."""
    from lib.catalog import selectors
    from lib.catalog.schemas import ProductDetailOut

    language = request_language(request)
    replies = kv_batch([lambda p: p.get(product_slug_key(slug)), lambda p: p.get(VERSION_KEY)])
    product_id, version = replies or (None, None)
    if product_id:
        replies = kv_batch([lambda p: p.hmget(product_key(product_id), "slug", language)])
        cached_slug, body = replies[0] if replies else (None, None)
        if cached_slug == slug and body:
            return json_response(body, cache="HIT")
    product = selectors.product_get(slug=slug)
    body = render(ProductDetailOut, product, request)
    kv_fill(
        product_key(product.pk),
        version,
        {"slug": slug, language: body},
        also=[lambda p: p.set(product_slug_key(slug), str(product.pk), ex=SLUG_TTL)],
    )
    return json_response(body, cache="MISS")
