"""The WSGI shortcut answers cached public pages exactly as the full stack would, and
hands everything else to Django untouched."""

from __future__ import annotations

import pytest
from django.test import Client

from statuspages.herd import StatusPageHerdShortcut
from statuspages.models import Component, StatusPage
from tests.wsgi_calls import CountingDjango, call

# Django's real handler runs its request signals (which may close the connection), as in
# production: committed data, not the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page(org_a):
    page = StatusPage.objects.create(organization=org_a, name="Acme <b>", slug="acme-herd")
    Component.objects.create(organization=org_a, status_page=page, name="API", position=0)
    return page


@pytest.fixture
def django_app():
    return CountingDjango()


def test_a_cached_page_is_answered_without_django_and_identically(page, django_app):
    herd = StatusPageHerdShortcut(django_app)
    full = Client().get("/status/acme-herd/")  # the first reader renders through the stack
    assert full.status_code == 200

    status, headers, body = call(herd, "/status/acme-herd/")
    assert django_app.calls == 0
    assert status == "200 OK"
    assert body == full.content
    same = ["ETag", "Last-Modified", "Cache-Control", "Content-Type", "X-Content-Type-Options"]
    same += ["Referrer-Policy", "Cross-Origin-Opener-Policy"]  # SecurityMiddleware's
    for name in same:
        assert headers[name] == full[name], name

    status, _, body = call(herd, "/status/acme-herd/", if_none_match=full["ETag"])
    assert (status, body, django_app.calls) == ("304 Not Modified", b"", 0)


def test_everything_else_goes_to_django(page, org_a, django_app):
    herd = StatusPageHerdShortcut(django_app)
    Client().get("/status/acme-herd/")  # cached

    assert call(herd, "/status/acme-herd/", host="evil.example")[0].startswith("400")
    assert django_app.calls == 1  # the disallowed host got Django's own answer

    call(herd, "/status/acme-herd/", cookie="sessionid=abc")
    assert django_app.calls == 2  # a signed-in reader may see more: full stack

    call(herd, "/status/acme-herd/history/rss-not-a-route")
    assert django_app.calls == 3

    StatusPage.objects.filter(pk=page.pk).update(is_public=False)
    herd = StatusPageHerdShortcut(django_app)  # a fresh worker: no remembered lookup
    _, _, body = call(herd, "/status/acme-herd/")
    assert django_app.calls == 4 and b"API" not in body


def test_an_uncached_page_is_rendered_by_django_then_served_from_the_cache(page, django_app):
    herd = StatusPageHerdShortcut(django_app)
    first = call(herd, "/status/acme-herd/api/v2/summary.json")
    assert first[0] == "200 OK" and django_app.calls == 1
    second = call(herd, "/status/acme-herd/api/v2/summary.json")
    assert second[2] == first[2] and django_app.calls == 1
    assert b"Acme <b>" not in call(herd, "/status/acme-herd/")[2]  # escaped in the HTML page
