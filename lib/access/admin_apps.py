"""`django.contrib.admin` with the store's site (`lib.access.admin_site.ZestAdminSite`) as
`admin.site`; kept apart because app configs load before any model may be imported."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class ZestAdminConfig(AdminConfig):
    default_site = "lib.access.admin_site.ZestAdminSite"
