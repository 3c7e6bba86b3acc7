"""Secrets in check configs are write-only over the API: masked on read, kept on write-back.

The last word is the probed site's: a local HTTP server records the headers a run sends,
so a check read, edited and written back is shown to still authenticate with the secret.
"""

from __future__ import annotations

import json

import pytest

from accounts.api.keys import create_api_key
from accounts.models import ApiKey
from monitoring.checks.secrets import MASK, is_secret_header, is_secret_parameter, masked_url
from monitoring.models import MonitoringCheck
from tests.api.conftest import Api
from tests.local_site import LocalSite
from tests.monitoring.factories import make_check

pytestmark = pytest.mark.django_db

HEADERS = {
    "Authorization": "Bearer s3cret-bearer",
    "X-Api-Key": "k3y-value",
    "Cookie": "session=c00kie",
    "X-Request-Source": "alert24",
}


@pytest.fixture
def recording_site(settings):
    """A local site that keeps the headers of the last request it got (names lowercased)."""
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    site = LocalSite()
    yield site.url, site.seen
    site.close()


def _create(api, url: str = "https://example.com/", **config):
    body = {
        "name": "Private API",
        "check_type": "http",
        "config": {"url": url, "headers": dict(HEADERS), **config},
        "locations": ["us-east"],
    }
    response = api.post("/api/v1/checks/", body)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("Authorization", True),
        ("proxy-authorization", True),
        ("Cookie", True),
        ("X-Api-Key", True),
        ("X-Auth-Token", True),
        ("Private-Token", True),
        ("X-Client-Secret", True),
        ("X-Hub-Signature-256", True),
        ("X-Session-Id", True),
        ("X-Password", True),
        ("Accept", False),
        ("User-Agent", False),
        ("X-Request-Id", False),
        ("Content-Type", False),
    ],
)
def test_which_headers_are_secret(name, secret):
    assert is_secret_header(name) is secret


def test_reads_mask_secret_header_values_for_every_key(api, read_api, world_a):
    created = _create(api)
    expected = {
        "Authorization": MASK,
        "X-Api-Key": MASK,
        "Cookie": MASK,
        "X-Request-Source": "alert24",
    }
    assert created["config"]["headers"] == expected
    for client in (api, read_api):
        detail = client.get(f"/api/v1/checks/{created['id']}/").json()
        assert detail["config"]["headers"] == expected
        listed = json.dumps(client.get("/api/v1/checks/").json())
        for secret in ("s3cret-bearer", "k3y-value", "c00kie"):
            assert secret not in listed
    paused = api.post(f"/api/v1/checks/{created['id']}/pause/").json()
    assert paused["config"]["headers"]["Authorization"] == MASK
    stored = MonitoringCheck.objects.get(pk=created["id"]).config["headers"]
    assert stored == HEADERS


def test_a_check_read_and_written_back_keeps_its_secrets(api, world_a, recording_site):
    site, seen = recording_site
    created = _create(api, site)
    read = api.get(f"/api/v1/checks/{created['id']}/").json()
    body = {key: read[key] for key in ("name", "check_type", "config", "locations")}
    body["name"] = "Private API (renamed)"
    written = api.put(f"/api/v1/checks/{created['id']}/", body)
    assert written.status_code == 200, written.content
    assert written.json()["config"]["headers"]["Authorization"] == MASK
    assert MonitoringCheck.objects.get(pk=created["id"]).config["headers"] == HEADERS
    ran = api.post(f"/api/v1/checks/{created['id']}/run-now/")
    assert ran.status_code == 200 and ran.json()["result"]["status"] == "up", ran.content
    assert seen["authorization"] == "Bearer s3cret-bearer"
    assert (seen["x-api-key"], seen["cookie"]) == ("k3y-value", "session=c00kie")


def test_the_basic_auth_password_sent_back_masked_is_kept(api, world_a):
    created = _create(api, basic_auth_user="ops", basic_auth_password="pa55")
    assert "basic_auth_password" not in created["config"]
    config = {**created["config"], "basic_auth_password": MASK}
    written = api.patch(f"/api/v1/checks/{created['id']}/", {"config": config})
    assert written.status_code == 200, written.content
    assert MonitoringCheck.objects.get(pk=created["id"]).config["basic_auth_password"] == "pa55"


def test_the_mask_keeps_only_the_headers_sent_back(api, world_a, recording_site):
    site, seen = recording_site
    created = _create(api, site)
    headers = {"authorization": MASK, "X-Api-Key": "rotated-k3y"}  # case-insensitive match
    patched = api.patch(
        f"/api/v1/checks/{created['id']}/", {"config": {"url": site, "headers": headers}}
    )
    assert patched.status_code == 200, patched.content
    stored = MonitoringCheck.objects.get(pk=created["id"]).config["headers"]
    assert stored == {"authorization": "Bearer s3cret-bearer", "X-Api-Key": "rotated-k3y"}
    assert api.post(f"/api/v1/checks/{created['id']}/run-now/").status_code == 200
    assert seen["authorization"] == "Bearer s3cret-bearer"
    assert seen["x-api-key"] == "rotated-k3y" and "cookie" not in seen


def test_the_mask_for_a_secret_that_is_not_stored_is_a_400(api, world_a):
    created = _create(api)
    url = f"/api/v1/checks/{created['id']}/"
    planted = api.patch(
        url, {"config": {"url": "https://example.com/", "headers": {"X-New-Token": MASK}}}
    )
    assert planted.status_code == 400
    assert "X-New-Token" in planted.json()["error"]["fields"]["config"]["headers"][0]
    password = api.patch(
        url, {"config": {"url": "https://example.com/", "basic_auth_password": MASK}}
    )
    assert password.status_code == 400
    assert "basic_auth_password" in password.json()["error"]["fields"]["config"]
    fresh = api.post(
        "/api/v1/checks/",
        {"name": "New", "check_type": "http",
         "config": {"url": "https://example.com/", "headers": {"Authorization": MASK}}},
    )  # fmt: skip
    assert fresh.status_code == 400 and "headers" in fresh.json()["error"]["fields"]["config"]
    assert MonitoringCheck.objects.get(pk=created["id"]).config["headers"] == HEADERS
    assert not MonitoringCheck.objects.filter(name="New").exists()


def test_the_schema_documents_the_write_only_secrets(api):
    schema = api.client.get(
        "/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}
    ).json()
    config = schema["components"]["schemas"]["Check"]["properties"]["config"]
    assert MASK in config["description"] and "Authorization" in config["description"]


# --- Secrets in the URL: userinfo password and secret-named query parameters -------------

SECRET_URL = "https://example.com/health?token=t0ps3cret&region=eu&X-Amz-Signature=s1gn%2B&sig=z"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("token", True),
        ("access_token", True),
        ("api_key", True),
        ("apikey", True),
        ("key", True),
        ("secret", True),
        ("password", True),
        ("signature", True),
        ("X-Amz-Signature", True),
        ("sig", True),
        ("auth", True),
        ("region", False),
        ("design", False),  # "sig" counts only as a word
        ("page", False),
        ("format", False),
    ],
)
def test_which_query_parameters_are_secret(name, secret):
    assert is_secret_parameter(name) is secret


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://example.com/", "https://example.com/"),
        ("https://ops:hunter2@example.com:8443/x?a=1", "https://ops:********@example.com:8443/x?a=1"),
        ("https://ops@example.com/", "https://ops@example.com/"),
        ("https://h.example/?token=t&b=%20+&flag&key=#frag", "https://h.example/?token=********&b=%20+&flag&key=#frag"),
        ("https://h.example/?", "https://h.example/?"),
    ],
)  # fmt: skip
def test_masked_url_changes_only_the_secret_places(url, shown):
    assert masked_url(url) == shown


def test_url_secrets_are_masked_on_read_for_every_key(api, read_api, world_a):
    created = _create(api, SECRET_URL)
    shown = (
        "https://example.com/health?token=********&region=eu&X-Amz-Signature=********&sig=********"
    )
    assert created["config"]["url"] == shown
    for client in (api, read_api):
        assert client.get(f"/api/v1/checks/{created['id']}/").json()["config"]["url"] == shown
        listed = json.dumps(client.get("/api/v1/checks/").json())
        assert "t0ps3cret" not in listed and "s1gn" not in listed
    assert MonitoringCheck.objects.get(pk=created["id"]).config["url"] == SECRET_URL


def test_a_url_written_back_masked_keeps_its_secrets(api, world_a, recording_site):
    site, seen = recording_site
    created = _create(api, f"{site}health?token=t0ps3cret&region=eu")
    read = api.get(f"/api/v1/checks/{created['id']}/").json()
    assert read["config"]["url"].endswith("?token=********&region=eu")
    body = {key: read[key] for key in ("name", "check_type", "config", "locations")}
    written = api.put(f"/api/v1/checks/{created['id']}/", {**body, "name": "Renamed"})
    assert written.status_code == 200, written.content
    stored = MonitoringCheck.objects.get(pk=created["id"])
    assert (stored.name, stored.config["url"]) == (
        "Renamed",
        f"{site}health?token=t0ps3cret&region=eu",
    )
    assert api.post(f"/api/v1/checks/{created['id']}/run-now/").status_code == 200
    assert seen[":path"] == "/health?token=t0ps3cret&region=eu"  # the site got the real one


def test_a_new_value_in_the_url_replaces_the_stored_one(api, world_a):
    created = _create(api, SECRET_URL)
    url = "https://example.com/health?token=r0tated&region=us&X-Amz-Signature=********&sig=z2"
    patched = api.patch(f"/api/v1/checks/{created['id']}/", {"config": {"url": url}})
    assert patched.status_code == 200, patched.content
    assert "r0tated" not in json.dumps(patched.json())
    stored = MonitoringCheck.objects.get(pk=created["id"]).config["url"]
    assert (
        stored
        == "https://example.com/health?token=r0tated&region=us&X-Amz-Signature=s1gn%2B&sig=z2"
    )


def test_the_mask_in_the_url_without_a_stored_value_is_a_400(api, world_a):
    created = _create(api, SECRET_URL)
    masked = "https://example.com/health?token=********&api_key=********"
    response = api.patch(f"/api/v1/checks/{created['id']}/", {"config": {"url": masked}})
    assert response.status_code == 400
    assert "api_key" in response.json()["error"]["fields"]["config"]["url"][0]
    assert MonitoringCheck.objects.get(pk=created["id"]).config["url"] == SECRET_URL


def test_a_stored_userinfo_password_is_masked(api, read_api, world_a):
    """New checks may not carry credentials in the URL; one stored before that rule must not
    show them either, and writing it back tells the client where they belong."""
    check = make_check(world_a.organization, "Legacy")
    legacy = "https://ops:hunter2@example.com/?key=k3y"
    MonitoringCheck.objects.filter(pk=check.pk).update(config={"url": legacy})
    read = read_api.get(f"/api/v1/checks/{check.pk}/").json()
    assert read["config"]["url"] == "https://ops:********@example.com/?key=********"
    written = api.patch(f"/api/v1/checks/{check.pk}/", {"config": read["config"]})
    assert written.status_code == 400
    assert "basic auth" in written.json()["error"]["fields"]["config"]["url"][0]
    assert "hunter2" not in written.content.decode()
    assert MonitoringCheck.objects.get(pk=check.pk).config["url"] == legacy


def test_another_organization_cannot_read_or_keep_a_checks_secrets(api, world_a, org_b):
    created = _create(api, SECRET_URL)
    other = Api(create_api_key(org_b, "B", scope=ApiKey.Scope.WRITE).secret)
    assert other.get(f"/api/v1/checks/{created['id']}/").status_code == 404
    response = other.patch(
        f"/api/v1/checks/{created['id']}/", {"config": {"url": "https://evil.example/?token=x"}}
    )
    assert response.status_code == 404
    # A B check sending A's masked URL has nothing stored to keep: no borrowing across orgs.
    theirs = make_check(org_b, "Theirs", config={"url": "https://example.com/"})
    borrowed = other.patch(
        f"/api/v1/checks/{theirs.pk}/", {"config": {"url": created["config"]["url"]}}
    )
    assert borrowed.status_code == 400
    assert MonitoringCheck.objects.get(pk=created["id"]).config["url"] == SECRET_URL
    assert MonitoringCheck.objects.get(pk=theirs.pk).config["url"] == "https://example.com/"
