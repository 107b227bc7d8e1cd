"""`django.contrib.admin` with the store's site (`lib.access.admin_site.ZestAdminSite`) as
`admin.site`; kept apart because app configs load before any model may be imported.

The admin modules are not imported when Django starts (`SimpleAdminConfig`): the site
discovers them the first time its registry is read (the admin function's URLs, the system
checks), so the API functions' cold start does not pay for the admin's forms and actions.
"""

from __future__ import annotations

from django.contrib.admin.apps import SimpleAdminConfig


class ZestAdminConfig(SimpleAdminConfig):
    default_site = "lib.access.admin_site.ZestAdminSite"
