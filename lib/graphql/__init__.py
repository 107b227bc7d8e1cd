"""GraphQL storefront reads at /api/graphql, schema-first on graphql-core.

- `schema`: the SDL and the executable schema (resolvers bound to it at import).
- `resolvers`: field resolvers over the catalog selectors (`lib.catalog.selectors`).
- `loaders`: per-request batching, so a page of products costs a fixed number of queries.
- `limits`: validation rules refusing queries that nest too deep or select too many fields.
- `http`: GraphQL over HTTP (GET and POST, JSON), run by the `api/graphql.py` function.
"""
