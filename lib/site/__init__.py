"""The store's own content and settings: identity, contact, theme, banners, featured
collections, policy pages, checkout charges and the maintenance switch.

- `lib.site.cache`: the KV snapshot every storefront read is served from (no SQL when warm).
- `lib.site.selectors`: reads (`store_settings_get`, `site_pages_published`, the storefront
  views, `checkout_settings` for checkout).
- `lib.site.services`: writes (image uploads, page sanitising, cache invalidation).
- `lib.site.maintenance`: the request pipeline's maintenance answer (503).
"""
