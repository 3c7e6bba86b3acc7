"""Paged sub-resources (timeline, notes, integrations), bad cursors, JSON 404s under /api/,
and API docs that load nothing from outside."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from incidents import lifecycle
from incidents.models import IncidentUpdate, ServiceIntegration

pytestmark = pytest.mark.django_db


def walk(api, url: str, **params) -> tuple[list, int]:
    """Every item of a paged list, following ``next``; and how many pages it took."""
    items, pages = [], 0
    response = api.get(url, **params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        items += body["results"]
        pages += 1
        if not body["next"]:
            return items, pages
        response = api.get(body["next"])


def test_timeline_pages_through_every_entry_oldest_first(api, world_a):
    incident = world_a.incident
    start = timezone.now() - dt.timedelta(days=1)
    IncidentUpdate.objects.bulk_create(
        IncidentUpdate(
            organization=world_a.organization,
            incident=incident,
            update_type=IncidentUpdate.Kind.NOTIFICATION,
            message=f"page {number}",
            # Three entries per instant, as one transaction writes them: ties must not
            # lose or repeat an entry at a page boundary.
            created_at=start + dt.timedelta(seconds=number // 3),
        )
        for number in range(1100)
    )
    expected = [
        str(pk)
        for pk in IncidentUpdate.objects.filter(incident=incident)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    ]
    assert len(expected) > 1100  # plus the trigger and the note

    url = f"/api/v1/incidents/{incident.pk}/timeline/"
    entries, pages = walk(api, url, limit=100)
    assert [entry["id"] for entry in entries] == expected
    assert pages == 12
    first = api.get(url).json()["results"]  # default page: 25
    assert [entry["id"] for entry in first] == expected[:25]


def test_notes_page_oldest_first(api, world_a):
    for number in range(4):
        lifecycle.add_note(world_a.incident, world_a.person, f"Update {number}")
    notes, pages = walk(api, f"/api/v1/incidents/{world_a.incident.pk}/notes/", limit=2)
    messages = [note["message"] for note in notes]
    assert messages == ["Note a", "Update 0", "Update 1", "Update 2", "Update 3"]
    assert pages == 3


def test_integrations_page(api, world_a):
    for number in range(3):
        ServiceIntegration.objects.create(
            organization=world_a.organization, service=world_a.service, name=f"Extra {number}"
        )
    url = f"/api/v1/services/{world_a.service.pk}/integrations/"
    integrations, pages = walk(api, url, limit=3)
    assert [i["name"] for i in integrations] == ["Events API v2", *(f"Extra {n}" for n in range(3))]
    assert pages == 2


@pytest.mark.parametrize("suffix", ["incidents/", "incidents/{incident}/timeline/", "services/"])
def test_a_bad_cursor_is_a_400_naming_cursor(api, world_a, suffix):
    url = "/api/v1/" + suffix.format(incident=world_a.incident.pk)
    response = api.get(url, cursor="not-a-cursor")
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "Invalid cursor",
            "fields": {"cursor": ["Invalid cursor"]},
        }
    }


def test_paged_sub_resources_of_another_organization_are_404(api, world_a, world_b):
    for url in [
        f"/api/v1/incidents/{world_b.incident.pk}/timeline/",
        f"/api/v1/incidents/{world_b.incident.pk}/notes/",
        f"/api/v1/services/{world_b.service.pk}/integrations/",
    ]:
        response = api.get(url)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_sub_resource_pagination_is_in_the_schema():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path, component in [
        ("/api/v1/incidents/{id}/timeline/", "PaginatedTimelineEntryList"),
        ("/api/v1/incidents/{id}/notes/", "PaginatedNoteList"),
        ("/api/v1/services/{id}/integrations/", "PaginatedIntegrationList"),
    ]:
        get = paths[path]["get"]
        # The paging parameters only: the incident/service list filters do not apply here.
        assert {p["name"] for p in get["parameters"]} == {"id", "cursor", "limit"}
        body = get["responses"]["200"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{component}"}


def test_only_list_operations_document_list_filters():
    """An action on one object (shifts, a page incident's updates) ignores the list's filter
    parameters, so the schema must not offer them there (the updates are paged, though)."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    shifts = paths["/api/v1/schedules/{id}/shifts/"]["get"]["parameters"]
    assert {p["name"] for p in shifts} == {"id", "since", "until"}
    updates = paths["/api/v1/status-page-incidents/{id}/updates/"]["get"]["parameters"]
    assert {p["name"] for p in updates} == {"id", "cursor", "limit"}


@pytest.mark.parametrize(
    "path", ["/api", "/api/", "/api/v1/", "/api/v1/nothing-here/", "/api/v1/incidents/a/b/c/"]
)
def test_unknown_api_paths_are_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}
    anonymous_post = Client(enforce_csrf_checks=True).post(path)  # no key, no CSRF token
    assert anonymous_post.status_code == 404
    assert anonymous_post.json()["error"]["code"] == "not_found"


def test_api_pages_without_their_slash_still_redirect():
    response = Client().get("/api/schema?format=json")
    assert response.status_code == 301 and response["Location"] == "/api/schema/?format=json"


def test_non_api_paths_keep_the_html_404(admin_a):
    client = Client()
    client.force_login(admin_a)
    assert "text/html" in client.get("/no-such-page/")["Content-Type"]


LOCAL_ASSET = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_load_only_our_own_static_files(page, settings, tmp_path):
    """No CDN, no web fonts, no online validator: the docs work offline, and what they load
    is served by the app itself (WhiteNoise, from collectstatic's output, as in production)."""
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    client = Client()  # its handler (and WhiteNoise) starts now, with this STATIC_ROOT

    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert "//" not in "".join(re.findall(r'(?:src|href)="[^"]*"', html))
    assert not re.search(r"https?://", html)  # nor in inline scripts (validator, fonts)
    assets = LOCAL_ASSET.findall(html)
    assert any(url.endswith(".js") for url in assets)
    for url in assets:
        assert url.startswith("/static/drf_spectacular_sidecar/"), url
        served = client.get(url)
        assert served.status_code == 200, url
        collected = tmp_path / url.removeprefix("/static/")
        assert b"".join(served.streaming_content) == collected.read_bytes()
        assert served["Cache-Control"].startswith("max-age=")
