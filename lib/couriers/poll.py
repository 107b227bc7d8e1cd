"""The couriers' poll: a backstop for webhooks, whose delivery no courier guarantees.

Consignments not delivered, returned or cancelled, with no news (update or poll) for
COURIER_POLL_AFTER_MINUTES, are asked about at their courier and the answer applied like a
webhook's (stored, deduplicated, forward only). One failure does not stop the run.

Unconfirmed bookings (the courier's answer to the create was lost) are not tracked: those of
couriers that look parcels up by our order number are looked up (`unconfirmed_settle`), the
others wait for the courier's webhook or staff's release; `unconfirmed` counts those left.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from db.models import TERMINAL_CONSIGNMENT_STATES, Consignment, ConsignmentState
from lib.conf import courier_config
from lib.couriers.registry import courier_for
from lib.couriers.services import consignment_refresh, unconfirmed_settle
from lib.errors import ApiError

logger = logging.getLogger("zest.couriers")
NOT_POLLED = (*TERMINAL_CONSIGNMENT_STATES, ConsignmentState.BOOKING)


def consignments_due(*, older_than_minutes: int, limit: int) -> list[Consignment]:
    """Live consignments quiet for longer than `older_than_minutes`, quietest first."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    quiet_since = Greatest(
        Coalesce("last_update_at", "created_at"), Coalesce("last_polled_at", "created_at")
    )
    return list(
        Consignment.objects.exclude(
            state__in=(*TERMINAL_CONSIGNMENT_STATES, ConsignmentState.BOOKING)
        )
        .exclude(Q(consignment_id=""))
        .alias(quiet_since=quiet_since)
        .filter(quiet_since__lte=cutoff)
        .order_by("quiet_since", "pk")[:limit]
    )


def courier_poll(*, older_than_minutes: int | None = None, limit: int | None = None) -> dict:
    """Track the consignments due and apply the answers; counts for the cron's answer."""
    minutes = (
        courier_config.poll_after_minutes if older_than_minutes is None else older_than_minutes
    )
    due = consignments_due(older_than_minutes=minutes, limit=limit or courier_config.poll_batch)
    counts = {"checked": 0, "updated": 0, "unchanged": 0, "errors": 0, "unconfirmed": 0}
    counts["unconfirmed"], counts["updated"] = unconfirmed_poll(limit or courier_config.poll_batch)
    for consignment in due:
        counts["checked"] += 1
        try:
            outcome = consignment_refresh(consignment=consignment)
        except ApiError as error:
            counts["errors"] += 1
            logger.warning("poll %s %s: %s", consignment.courier, consignment.pk, error.code)
            continue
        except Exception:  # one broken adapter answer must not stop the others
            counts["errors"] += 1
            logger.exception("poll %s %s failed", consignment.courier, consignment.pk)
            continue
        counts["updated" if outcome.applied else "unchanged"] += 1
    return counts


def unconfirmed_poll(limit: int) -> tuple[int, int]:
    """Look the unconfirmed bookings up where their courier can: (left unconfirmed, found)."""
    unconfirmed = Consignment.objects.filter(state=ConsignmentState.BOOKING_UNCONFIRMED)
    found = 0
    for consignment in unconfirmed.order_by("updated_at", "pk")[:limit]:
        try:
            settled, _absent = unconfirmed_settle(consignment, courier_for(consignment.courier))
        except Exception:  # one broken adapter answer must not stop the others
            logger.exception("poll %s %s: look-up failed", consignment.courier, consignment.pk)
            continue
        found += settled.state != ConsignmentState.BOOKING_UNCONFIRMED
    return unconfirmed.count(), found
