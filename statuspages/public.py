"""The anonymous door to a status page: lookup, access, and cached conditional responses.

Public pages are read without logging in, so row-level security (keyed on the visitor's
organization: none) hides every row. :func:`lookup` asks the narrow ``SECURITY DEFINER``
SQL function ``status_page_lookup(slug)`` for the page's id, organization, visibility and
cache version — nothing else — and every query for content then runs inside
``organization_scope(page.organization_id)``, under RLS as usual. A slug of organization B
can only ever show B's rows.

A status page is read by the most people at the worst moment, so responses are rendered
once per page *version* (``status_pages.content_version``, bumped by triggers on any change)
and served from the cache; the version is also the ETag, so a browser or CDN revalidating
gets a 304 without the body. No database write happens per view (see ``analytics``).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import ipaddress
import logging
import threading
import uuid
import zoneinfo
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.template.loader import render_to_string
from django.utils.http import http_date, parse_etags, parse_http_date_safe

from accounts.models import OrganizationMember
from alert24.tenancy import organization_scope
from statuspages import analytics
from statuspages.models import parse_ip_allow_list

log = logging.getLogger(__name__)

#: Seconds browsers and shared caches may reuse a public response without asking.
MAX_AGE = 30
#: Seconds a rendered version stays in the server cache (a new version is a new key).
CACHE_SECONDS = 24 * 3600

_LOOKUP_COLUMNS = (
    "id, organization_id, slug, is_public, allowed_ips, content_version, updated_at, time_zone"
)


@dataclass(frozen=True)
class PageRef:
    """What the lookup function tells about a page: enough to authorise and to cache."""

    id: uuid.UUID
    organization_id: uuid.UUID
    slug: str
    is_public: bool
    allowed_ips: str
    content_version: int
    updated_at: dt.datetime
    time_zone: str
    #: Path prefix of the page's URLs for this request: /status/<slug>/ or / (custom domain).
    base: str = ""

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")

    def today(self) -> dt.date:
        return dt.datetime.now(self.zone).date()


def _lookup(sql: str, value: str) -> PageRef | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_LOOKUP_COLUMNS} FROM {sql}(%s)", [value])  # noqa: S608
        row = cursor.fetchone()
    return PageRef(*row) if row else None


def lookup(slug: str) -> PageRef | None:
    """The page with this slug, whatever organization the request acts for."""
    if not slug or len(slug) > 63:
        return None
    ref = _lookup("status_page_lookup", slug)
    return None if ref is None else _with_base(ref, f"/status/{ref.slug}/")


def lookup_by_domain(host: str) -> PageRef | None:
    """The page served at this custom domain."""
    if not host or len(host) > 253:
        return None
    ref = _lookup("status_page_lookup_by_domain", host)
    return None if ref is None else _with_base(ref, "/")


def _with_base(ref: PageRef, base: str) -> PageRef:
    return PageRef(**{**ref.__dict__, "base": base})


def resolve(request: HttpRequest, slug: str | None) -> PageRef:
    """The page this request is for: by slug, or by the custom domain the middleware saw."""
    ref = getattr(request, "status_page_ref", None) if slug is None else lookup(slug)
    if ref is None:
        raise Http404("No such status page.")
    return ref


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR: behind a proxy the deployment must set it from X-Forwarded-For itself."""
    return request.META.get("REMOTE_ADDR", "") or ""


def ip_allowed(request: HttpRequest, allowed: str) -> bool:
    if not allowed.strip():
        return False
    try:
        address = ipaddress.ip_address(client_ip(request))
        networks = parse_ip_allow_list(allowed)
    except ValueError:
        return False
    return any(address in network for network in networks)


def authorize(request: HttpRequest, ref: PageRef) -> HttpResponse | None:
    """None if the visitor may read the page, else the response to send instead.

    Private pages: a logged-in member of the page's organization, or a visitor from an
    allowed network. Anyone else logged in gets a 404 (the page's existence is not
    confirmed); an anonymous visitor is sent to log in.
    """
    if ref.is_public or ip_allowed(request, ref.allowed_ips):
        return None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    with organization_scope(ref.organization_id, user.pk):
        if OrganizationMember.objects.filter(
            user_id=user.pk, organization_id=ref.organization_id
        ).exists():
            return None
    raise Http404("No such status page.")


def _cache_headers(response: HttpResponse, ref: PageRef, etag: str, modified: float) -> None:
    response["ETag"] = etag
    response["Last-Modified"] = http_date(modified)
    response["X-Frame-Options"] = "DENY"
    if ref.is_public:
        response["Cache-Control"] = f"public, max-age={MAX_AGE}"
        response["Access-Control-Allow-Origin"] = "*"
        response["Vary"] = "Accept-Encoding"
    else:
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = "Cookie, Accept-Encoding"


@dataclass(frozen=True)
class Variant:
    """One cacheable representation of a page version: its ETag, date and cache key."""

    etag: str
    modified: float
    key: str


def variant(ref: PageRef, name: str, *, daily: bool = False) -> Variant:
    """``daily`` output (uptime bars) also changes at the page's midnight, so the day is part
    of the key and the ETag."""
    day = ref.today().isoformat() if daily else ""
    digest = hashlib.blake2s(f"{name}|{ref.base}|{day}".encode(), digest_size=6).hexdigest()
    modified = ref.updated_at.timestamp()
    if daily:
        midnight = dt.datetime.combine(ref.today(), dt.time(), tzinfo=ref.zone).timestamp()
        modified = max(modified, midnight)
    return Variant(
        etag=f'"{ref.content_version}-{digest}"',
        modified=float(int(modified)),
        key=f"statuspages:render:{ref.id}:{ref.content_version}:{digest}",
    )


def not_modified(request: HttpRequest, ref: PageRef, v: Variant) -> HttpResponse | None:
    """A 304 if the client's copy (If-None-Match, else If-Modified-Since) is current."""
    if request.method not in ("GET", "HEAD"):
        return None
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        tags = parse_etags(if_none_match)
        fresh = "*" in tags or v.etag in tags or f"W/{v.etag}" in tags
    else:
        since = parse_http_date_safe(request.META.get("HTTP_IF_MODIFIED_SINCE", ""))
        fresh = since is not None and since >= v.modified
    if not fresh:
        return None
    response = HttpResponseNotModified()
    _cache_headers(response, ref, v.etag, v.modified)
    return response


def _respond(
    request: HttpRequest, ref: PageRef, v: Variant, compressed: bytes, content_type: str
) -> HttpResponse:
    """Bodies are cached gzip-compressed once per version; most clients take them as is."""
    if "gzip" in request.META.get("HTTP_ACCEPT_ENCODING", ""):
        response = HttpResponse(compressed, content_type=content_type)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(gzip.decompress(compressed), content_type=content_type)
    response["Content-Length"] = str(len(response.content))  # keep-alive without chunking
    _cache_headers(response, ref, v.etag, v.modified)
    return response


class _LocalBodies:
    """A small per-process LRU of rendered bodies, keyed like Redis (by page *version*).

    A key names one immutable version, so this can never serve stale content; it only
    saves the Redis round trip for the pages a herd is reading.
    """

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self.items: OrderedDict[str, bytes] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self.lock:
            body = self.items.get(key)
            if body is not None:
                self.items.move_to_end(key)
            return body

    def put(self, key: str, body: bytes) -> None:
        with self.lock:
            self.items[key] = body
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_bodies = _LocalBodies()


def from_cache(
    request: HttpRequest, ref: PageRef, v: Variant, content_type: str, *, count_view: bool = False
) -> HttpResponse | None:
    """The 304 or the cached body (process memory, else Redis), or None on a miss."""
    # Once per request, though the fast path and then the view may both look.
    if count_view and not getattr(request, "status_page_view_counted", False):
        request.status_page_view_counted = True
        analytics.count_view(ref.id)
    response = not_modified(request, ref, v)
    if response is not None:
        return response
    compressed = _bodies.get(v.key)
    if compressed is None:
        try:
            compressed = analytics.client().get(v.key)
        except redis.RedisError:
            log.warning("Status page cache unavailable; rendering", exc_info=True)
            return None
        if compressed is None:
            return None
        _bodies.put(v.key, compressed)
    return _respond(request, ref, v, compressed, content_type)


def cached_response(
    request: HttpRequest,
    ref: PageRef,
    name: str,
    content_type: str,
    build: Callable[[], str | bytes],
    *,
    daily: bool = False,
    count_view: bool = False,
) -> HttpResponse:
    """Serve ``build()``'s output for this page version, from cache, with ETag/304.

    ``build`` runs inside the page organization's RLS scope, only on a cache miss; its
    output is stored under a key naming the page version, so a change (new version) never
    needs a purge and old versions simply expire.
    """
    v = variant(ref, name, daily=daily)
    response = from_cache(request, ref, v, content_type, count_view=count_view)
    if response is not None:
        return response
    with organization_scope(ref.organization_id):
        body = build()
    compressed = gzip.compress(body.encode() if isinstance(body, str) else body, 6, mtime=0)
    _bodies.put(v.key, compressed)
    try:
        analytics.client().set(v.key, compressed, ex=CACHE_SECONDS)
    except redis.RedisError:
        log.warning("Could not cache a rendered status page", exc_info=True)
    return _respond(request, ref, v, compressed, content_type)


def render_error(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    """A plain, uncached error page (bad token, bad address, too many requests)."""
    html = render_to_string(
        "statuspages/message.html",
        {"title": title, "message": message, "back": getattr(request, "status_page_back", "")},
        request=request,
    )
    response = HttpResponse(html, status=status)
    response["Cache-Control"] = "no-store"
    return response
