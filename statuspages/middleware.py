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

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.http import is_same_domain

from statuspages.public import lookup_by_domain

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
