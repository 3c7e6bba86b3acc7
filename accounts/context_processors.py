"""Template context every page's navigation needs: the switcher and the live-update wiring."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.models import OrganizationMember


def navigation(request: HttpRequest) -> dict:
    """Lazy, so pages that do not show the switcher (fragments, admin) pay no query."""
    user = getattr(request, "user", None)

    def memberships() -> list[OrganizationMember]:
        if user is None or not user.is_authenticated:
            return []
        return list(
            OrganizationMember.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name")
        )

    pusher = bool(settings.PUSHER_APP_ID and settings.PUSHER_KEY and settings.PUSHER_SECRET)
    return {
        "switcher_memberships": SimpleLazyObject(memberships),
        "pusher_key": settings.PUSHER_KEY if pusher else "",
        "pusher_cluster": settings.PUSHER_CLUSTER,
        "pusher_host": settings.PUSHER_HOST,
        "pusher_port": settings.PUSHER_PORT or "",
        "poll_seconds": settings.LIVE_POLL_SECONDS,
    }
