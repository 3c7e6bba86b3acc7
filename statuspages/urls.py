"""Public status page URLs, mounted at /status/ (and at / of a custom domain)."""

from django.urls import URLPattern, path

from statuspages import views

app_name = "statuspages"


def page_patterns(prefix: str) -> list[URLPattern]:
    """The same routes under ``<slug>/`` (main site) or at the root (custom domain)."""
    return [
        path(f"{prefix}", views.page, name="page"),
        path(f"{prefix}history/", views.history, name="history"),
        path(f"{prefix}history.atom", views.feed, {"kind": "atom"}, name="feed_atom"),
        path(f"{prefix}history.rss", views.feed, {"kind": "rss"}, name="feed_rss"),
        path(f"{prefix}incidents/<uuid:incident_id>/", views.incident, name="incident"),
        path(f"{prefix}maintenance/<uuid:window_id>/", views.maintenance, name="maintenance"),
        path(f"{prefix}api/v2/<path:endpoint>", views.api_v2, name="api"),
        path(f"{prefix}badge.svg", views.page_badge, name="badge"),
        path(f"{prefix}uptime.svg", views.page_uptime_badge, name="uptime_badge"),
        path(
            f"{prefix}components/<uuid:component_id>/badge.svg",
            views.component_badge,
            name="component_badge",
        ),
        path(
            f"{prefix}components/<uuid:component_id>/uptime.svg",
            views.component_uptime_badge,
            name="component_uptime_badge",
        ),
        path(f"{prefix}subscribe/", views.subscribe_view, name="subscribe"),
        path(f"{prefix}subscribe/confirm/<str:token>/", views.confirm_view, name="confirm"),
        path(f"{prefix}unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
    ]


urlpatterns = page_patterns("<slug:slug>/")
