"""The storefront's GraphQL schema: SDL first, resolvers bound to it once per process.

Read-only: categories, products with variations, images, review summaries. Names in the
caller's language (`Accept-Language`: English or Bangla) with both languages beside them;
money as `Decimal` strings in BDT with a display string.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import (
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    ValueNode,
    build_schema,
    value_from_ast_untyped,
)

from lib.catalog.selectors import ORDERINGS
from lib.graphql import resolvers
from lib.graphql.resolvers import DEFAULT_PAGE_SIZE, sort_name
from lib.money import quantize_bdt
from lib.pagination import MAX_PAGE_SIZE

SDL = f'''
"""An amount of BDT with two decimal places, as a string: "125000.00"."""
scalar Decimal

type Query {{
  """Every active category, as a tree: the roots, each with its children."""
  categories: [Category!]!
  """An active category by slug; null if there is none."""
  category(slug: String!): Category
  """Active products, a page at a time. `category` includes its subcategories; `search`
  matches English and Bangla names (and an exact SKU). Pages: `first` (1-{MAX_PAGE_SIZE})
  items after the `after` cursor (an `endCursor` of the previous page)."""
  products(
    category: String
    search: String
    minPrice: Decimal
    maxPrice: Decimal
    inStock: Boolean
    featured: Boolean
    vendor: String
    sort: ProductSort = NEWEST
    first: Int = {DEFAULT_PAGE_SIZE}
    after: String
  ): ProductConnection
  """An active product by slug; null if there is none."""
  product(slug: String!): Product
}}

"""How a product page is ordered."""
enum ProductSort {{
  {" ".join(sort_name(ordering) for ordering in ORDERINGS)}
}}

type Category {{
  id: ID!
  slug: String!
  """In the caller's language (English when there is no Bangla name)."""
  name: String!
  nameEn: String!
  nameBn: String!
  description: String!
  imageUrl: String
  """Active subcategories, in display order."""
  children: [Category!]!
  """From the root down to this category (active categories only)."""
  breadcrumb: [Category!]!
}}

"""A page of products (a Relay-style connection over offset cursors)."""
type ProductConnection {{
  """Products matching the filters, on every page."""
  totalCount: Int!
  pageInfo: PageInfo!
  edges: [ProductEdge!]!
  """The products of this page (the edges' nodes, without cursors)."""
  nodes: [Product!]!
}}

type ProductEdge {{
  cursor: String!
  node: Product!
}}

type PageInfo {{
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}}

type Product {{
  id: ID!
  slug: String!
  sku: String!
  name: String!
  nameEn: String!
  nameBn: String!
  """Sanitised HTML in the caller's language."""
  description: String!
  price: Decimal!
  """The price shown as ৳ with lakh/crore grouping (Bangla digits in Bangla)."""
  priceDisplay: String!
  """The crossed-out "was" price, if any."""
  comparePrice: Decimal
  comparePriceDisplay: String
  currency: String!
  """Units that can be bought now: on hand - allocated - held by carts."""
  available: Int!
  inStock: Boolean!
  isFeatured: Boolean!
  tags: [String!]!
  category: Category!
  breadcrumb: [Category!]!
  """The primary image."""
  image: Image
  """Every image, in display order."""
  images: [Image!]!
  """Active variations (size, colour, ...), each with its own price and stock."""
  variations: [Variation!]!
  reviewSummary: ReviewSummary!
}}

type Image {{
  url: String!
  """Alternative text in the caller's language."""
  alt: String!
  altEn: String!
  altBn: String!
  isPrimary: Boolean!
}}

type Variation {{
  id: ID!
  sku: String!
  """The axis: size, color, material, style, weight."""
  type: String!
  value: String!
  valueEn: String!
  valueBn: String!
  """The product's price plus this variation's adjustment."""
  price: Decimal!
  priceDisplay: String!
  available: Int!
  inStock: Boolean!
}}

"""Approved reviews, from the product's counters."""
type ReviewSummary {{
  """Mean rating 1-5 with two decimals; null before the first review."""
  average: Float
  count: Int!
}}
'''


def serialize_decimal(value: Any) -> str:
    return str(quantize_bdt(value))


def parse_decimal(value: Any) -> Decimal:
    """Variables may send `"1250.50"` or `1250.5`; anything else is not an amount."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(f"Decimal cannot represent {value!r}; send a string like '1250.00'.")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"Decimal cannot represent {value!r}.") from None
    if not amount.is_finite():
        raise ValueError(f"Decimal cannot represent {value!r}.")
    return quantize_bdt(amount)


def parse_decimal_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> Decimal:
    return parse_decimal(value_from_ast_untyped(node, variables))


def bind(schema: GraphQLSchema) -> GraphQLSchema:
    """Attach the resolvers and the Decimal scalar's coercion to the types built from the SDL."""
    decimal = schema.type_map["Decimal"]
    assert isinstance(decimal, GraphQLScalarType)
    decimal.serialize = serialize_decimal  # type: ignore[method-assign]
    decimal.parse_value = parse_decimal  # type: ignore[method-assign]
    decimal.parse_literal = parse_decimal_literal  # type: ignore[method-assign]
    for type_name, fields in resolvers.RESOLVERS.items():
        graphql_type = schema.type_map[type_name]
        assert isinstance(graphql_type, GraphQLObjectType)
        for field_name, resolve in fields.items():
            graphql_type.fields[field_name].resolve = resolve
    return schema


schema = bind(build_schema(SDL))
