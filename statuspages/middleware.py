"""Serve a status page at its custom domain (``status.example.com`` → that page).

For a request whose host is not one of the application's own hosts
(``STATUSPAGES_APP_HOSTS``, by default SITE_URL's host and the local names), the page is
looked up by domain through the ``status_page_lookup_by_domain`` SQL function; if one
matches, the request is routed with ``statuspages.urls_domain`` (the page at ``/``, its
history at ``/history/``, …) and nothing else of the application is reachable on that host.

Deployment: Django refuses hosts not in ``ALLOWED_HOSTS`` before this runs (400), so the
deployment must allow the custom domains — list them in ``ALLOWED_HOSTS``, or allow ``*``
when the reverse proxy in front only forwards hosts it knows. The proxy also terminates TLS
for them. Private pages on a custom domain work with the IP allow-list; logging in happens
on the main site, whose session cookie the custom domain does not see.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.http import is_same_domain

from statuspages.public import (
    PageRef,
    Variant,
    from_cache,
    lookup,
    lookup_by_domain,
    variant,
)

DEFAULT_APP_HOSTS = ["localhost", "127.0.0.1", "[::1]", "::1", "testserver"]


def app_hosts() -> list[str]:
    configured = getattr(settings, "STATUSPAGES_APP_HOSTS", None)
    if configured is not None:
        return list(configured)
    site_host = urlsplit(settings.SITE_URL).hostname or ""
    return [*DEFAULT_APP_HOSTS, site_host]


class CustomDomainMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.own_hosts = [h.lower() for h in app_hosts() if h]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        host = request.get_host().lower()
        # Drop the port (IPv6 literals keep their brackets).
        host = host.split("]")[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
        if not any(is_same_domain(host, own) for own in self.own_hosts):
            ref = lookup_by_domain(host)
            if ref is not None:
                request.urlconf = "statuspages.urls_domain"
                request.status_page_ref = ref
        return self.get_response(request)


class StatusPageFastPathMiddleware:
    """Serve an anonymous reader of a public page straight from the render cache.

    The herd case — thousands of anonymous GETs of the same page — needs none of sessions,
    CSRF, authentication or the per-request tenancy transaction: this middleware (placed
    right after SecurityMiddleware) validates the host, asks ``status_page_lookup`` for the
    page's version (one autocommit query, no content) and answers with a 304 or the cached
    body in one Redis round trip. Nothing protected by row-level security is read here:
    the bytes were rendered earlier by the normal view, under the page organization's RLS
    scope. Private pages, visitors with a session, cache misses and everything else fall
    through to the normal stack.

    Two process-local shortcuts keep the herd off the database and Redis: the page lookup
    is reused for up to a second (:meth:`page`), and rendered bodies are kept in a small
    LRU keyed by page version (``public._LocalBodies``, never stale by construction).
    Two more keep a cache hit cheap in CPU, the resource a herd exhausts first: the cache
    variant is computed once per lookup (:meth:`variant`) and a Host header is validated
    against ``ALLOWED_HOSTS`` once (:meth:`check_host`).
    """

    PATH = re.compile(r"^/status/(?P<slug>[a-z0-9][a-z0-9-]{0,62})/(?P<rest>.*)$")

    def __init__(self, get_response) -> None:
        from statuspages.views import CACHED_ROUTES

        self.get_response = get_response
        self.routes = CACHED_ROUTES
        self.pages: dict[str, tuple[float, PageRef | None]] = {}
        self.variants: dict[tuple[str, str], tuple[PageRef, Variant]] = {}
        self.hosts: set[tuple[str | None, ...]] = set()
        self.hosts_allowed_by: object = None

    def page(self, slug: str) -> PageRef | None:
        """The page's lookup, reused for ``STATUSPAGES_VERSION_TTL`` seconds (default 1).

        Within that second a change may not be seen by this worker yet; readers are told
        ``max-age=30`` anyway, so this costs no freshness anyone relies on, and it turns a
        herd's database round trip per request into one per second per worker.
        """
        ttl = getattr(settings, "STATUSPAGES_VERSION_TTL", 1.0)
        now = time.monotonic()
        cached = self.pages.get(slug)
        if cached is not None and cached[0] > now:
            return cached[1]
        ref = lookup(slug)
        if ttl > 0:
            if len(self.pages) > 10_000:
                self.pages.clear()
            self.pages[slug] = (now + ttl, ref)
        return ref

    def variant(self, slug: str, ref: PageRef, route) -> Variant:
        """The cache variant of ``route``, reused while this same lookup is.

        Derived only from the lookup (and, for daily output, today's date), so it lives
        exactly as long as :meth:`page` reuses that lookup: at most a second.
        """
        key = (slug, route.name)
        cached = self.variants.get(key)
        if cached is not None and cached[0] is ref:
            return cached[1]
        v = variant(ref, route.name, daily=route.daily)
        if len(self.variants) > 10_000:
            self.variants.clear()
        self.variants[key] = (ref, v)
        return v

    def check_host(self, request: HttpRequest) -> None:
        """``request.get_host()`` (DisallowedHost → 400), once per distinct accepted Host.

        Validation depends only on these headers and the settings, so a Host accepted once
        is accepted again; rejected ones are never remembered (they raise every time).
        """
        if self.hosts_allowed_by is not settings.ALLOWED_HOSTS:  # override_settings in tests
            self.hosts, self.hosts_allowed_by = set(), settings.ALLOWED_HOSTS
        meta = request.META
        key = (
            meta.get("HTTP_X_FORWARDED_HOST"),
            meta.get("HTTP_HOST"),
            meta.get("SERVER_NAME"),
            meta.get("SERVER_PORT"),
        )
        if key in self.hosts:
            return
        request.get_host()
        if len(self.hosts) > 256:
            self.hosts.clear()
        self.hosts.add(key)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.fast(request)
        return response if response is not None else self.get_response(request)

    def fast(self, request: HttpRequest) -> HttpResponse | None:
        """The cached answer for an anonymous GET/HEAD of a public page, else None."""
        if request.method not in ("GET", "HEAD"):
            return None
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            return None  # signed-in readers may see private pages: full stack
        match = self.PATH.match(request.path_info)
        route = self.routes.get(match["rest"]) if match else None
        if route is None:
            return None
        self.check_host(request)  # ALLOWED_HOSTS still applies (DisallowedHost → 400)
        ref = self.page(match["slug"])
        if ref is None or not ref.is_public:
            return None
        v = self.variant(match["slug"], ref, route)
        return from_cache(request, ref, v, route.content_type, count_view=route.count_view)
