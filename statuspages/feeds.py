"""Atom and RSS feeds of a page's incident history (Django's syndication framework).

The feed object is built inside the page organization's RLS scope by the view (see
``views.feed``), cached per page version like everything public.
"""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

from statuspages import pagedata
from statuspages.models import StatusPage, StatusPageIncident
from statuspages.rendering import render_markdown
from statuspages.services import describe
from statuspages.subscriptions import page_url

ITEMS = 50


class IncidentHistoryRss(Feed):
    feed_type = Rss201rev2Feed

    def get_object(self, request, page: StatusPage) -> StatusPage:
        return page

    def title(self, page: StatusPage) -> str:
        return f"{page.name} status - incident history"

    def link(self, page: StatusPage) -> str:
        return page_url(page, "history/")

    def description(self, page: StatusPage) -> str:
        return f"Incidents and updates for {page.name}."

    def items(self, page: StatusPage) -> list[StatusPageIncident]:
        return list(pagedata.incidents_queryset(page)[:ITEMS])

    def item_title(self, item: StatusPageIncident) -> str:
        return f"{item.name} ({describe(item.status)})"

    def item_description(self, item: StatusPageIncident) -> str:
        # Sanitised HTML; the feed generator escapes it again as element text.
        parts = [
            f"<p><strong>{describe(u.status)}</strong> - "
            f"{u.display_at:%Y-%m-%d %H:%M %Z}</p>{render_markdown(u.body)}"
            for u in item.updates.all()
        ]
        return "".join(parts)

    def item_link(self, item: StatusPageIncident) -> str:
        return page_url(item.status_page, f"incidents/{item.pk}/")

    def item_guid(self, item: StatusPageIncident) -> str:
        return f"urn:uuid:{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: StatusPageIncident):
        return item.started_at

    def item_updateddate(self, item: StatusPageIncident):
        return item.updated_at


class IncidentHistoryAtom(IncidentHistoryRss):
    feed_type = Atom1Feed

    def subtitle(self, page: StatusPage) -> str:
        return self.description(page)


def render_feed(request, page: StatusPage, kind: str) -> bytes:
    """The feed document as bytes (``kind``: ``atom`` or ``rss``)."""
    feed = (IncidentHistoryAtom if kind == "atom" else IncidentHistoryRss)()
    generator = feed.get_feed(page, request)
    return generator.writeString("utf-8").encode()
