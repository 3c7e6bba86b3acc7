""" "Run now" over the API is limited per check and per organization, in Redis.

A real HTTP server on 127.0.0.1 counts the probes that actually leave the server, so the
tests show the limit holds where it matters (nothing mocked; the real Redis of the suite).
"""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache

from accounts.api import throttling
from monitoring import on_demand
from monitoring.models import CheckResult
from tests.local_site import LocalSite
from tests.monitoring.factories import make_check

pytestmark = pytest.mark.django_db


@pytest.fixture
def sites(settings):
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    made: list[LocalSite] = []

    def make() -> LocalSite:
        made.append(LocalSite())
        return made[-1]

    yield make
    for site in made:
        site.close()


def _check(organization, url: str, name: str = "Probe"):
    return make_check(organization, name, config={"url": url}, locations=("us-east",))


def test_second_run_within_the_cooldown_is_429_and_probes_nothing(api, world_a, sites):
    site, other = sites(), sites()
    check = _check(world_a.organization, site.url)
    url = f"/api/v1/checks/{check.pk}/run-now/"
    assert api.post(url).status_code == 200
    again = api.post(url)
    assert again.status_code == 429
    assert 1 <= int(again["Retry-After"]) <= on_demand.COOLDOWN_S
    error = again.json()["error"]
    assert error["code"] == "throttled"
    assert f"once every {on_demand.COOLDOWN_S} seconds" in error["message"]
    # Pointing the check elsewhere does not reset its cooldown: the key is the check.
    moved = api.patch(f"/api/v1/checks/{check.pk}/", {"config": {"url": other.url}})
    assert moved.status_code == 200
    assert api.post(url).status_code == 429
    assert (site.hits, other.hits) == (1, 0)
    assert CheckResult.objects.filter(monitor=check).count() == 1


def test_the_check_runs_again_once_the_cooldown_is_over(api, world_a, sites, monkeypatch):
    monkeypatch.setattr(on_demand, "COOLDOWN_S", 1)
    site = sites()
    check = _check(world_a.organization, site.url)
    url = f"/api/v1/checks/{check.pk}/run-now/"
    assert api.post(url).status_code == 200
    assert api.post(url).status_code == 429
    threading.Event().wait(1.1)
    assert api.post(url).status_code == 200
    assert site.hits == 2


def test_the_organization_budget_bounds_runs_spread_over_many_checks(
    api, world_a, sites, monkeypatch
):
    monkeypatch.setattr(on_demand, "ORGANIZATION_RUNS", 2)
    site = sites()
    checks = [_check(world_a.organization, site.url, f"Probe {n}") for n in range(3)]
    statuses = [api.post(f"/api/v1/checks/{c.pk}/run-now/").status_code for c in checks[:2]]
    refused = api.post(f"/api/v1/checks/{checks[2].pk}/run-now/")
    assert statuses == [200, 200] and refused.status_code == 429
    assert "2 times every 60 seconds" in refused.json()["error"]["message"]
    assert 1 <= int(refused["Retry-After"]) <= on_demand.ORGANIZATION_WINDOW_S
    # A new check (or a deleted and recreated one) starts no new budget.
    fresh = api.post(
        "/api/v1/checks/",
        {"name": "Fresh", "check_type": "http", "config": {"url": site.url}},
    ).json()
    assert api.post(f"/api/v1/checks/{fresh['id']}/run-now/").status_code == 429
    assert site.hits == 2


def test_the_budgets_of_two_organizations_are_separate(api, world_a, org_b, monkeypatch):
    monkeypatch.setattr(on_demand, "ORGANIZATION_RUNS", 1)
    ours = make_check(world_a.organization, "Ours", config={"url": "http://127.0.0.1:9/"})
    theirs = make_check(org_b, "Theirs", config={"url": "http://127.0.0.1:9/"})
    on_demand.claim_run_now(theirs)
    assert api.post(f"/api/v1/checks/{ours.pk}/run-now/").status_code == 200


def test_concurrent_claims_grant_exactly_one_run(world_a):
    check = make_check(world_a.organization, "Raced", config={"url": "http://127.0.0.1:9/"})
    start = threading.Barrier(8)
    granted: list[bool] = []

    def claim() -> None:
        start.wait()
        try:
            on_demand.claim_run_now(check)
            granted.append(True)
        except on_demand.RunNowTooSoon:
            granted.append(False)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(granted) == [False] * 7 + [True]


def test_the_cooldown_is_shared_with_the_responder_ui(api, world_a):
    """The UI's "run now" (``monitoring.pages.request_run``) takes the check's cooldown with
    ``cache.add("monitor-run-now:<id>", …)``: a run from one door holds off the other."""
    check = make_check(world_a.organization, "Shared", config={"url": "http://127.0.0.1:9/"})
    assert api.post(f"/api/v1/checks/{check.pk}/run-now/").status_code == 200
    assert cache.add(f"monitor-run-now:{check.pk}", 1, 30) is False
    other = make_check(world_a.organization, "Clicked", config={"url": "http://127.0.0.1:9/"})
    assert cache.add(f"monitor-run-now:{other.pk}", 1, 30) is True
    assert api.post(f"/api/v1/checks/{other.pk}/run-now/").status_code == 429


def test_without_redis_run_now_is_refused_not_unlimited(api, world_a, sites, settings, monkeypatch):
    site = sites()
    check = _check(world_a.organization, site.url)
    # The per-key throttle fails open for a few seconds after this; put its clock back.
    monkeypatch.setattr(throttling, "_down_until", 0.0)
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    response = api.post(f"/api/v1/checks/{check.pk}/run-now/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "unavailable"
    assert site.hits == 0 and not CheckResult.objects.filter(monitor=check).exists()


def test_refused_runs_do_not_spend_the_cooldown(api, read_api, world_a, sites):
    site = sites()
    check = _check(world_a.organization, site.url)
    url = f"/api/v1/checks/{check.pk}/run-now/"
    assert read_api.post(url).status_code == 403
    api.post(f"/api/v1/checks/{check.pk}/pause/")
    assert api.post(url).status_code == 409
    api.post(f"/api/v1/checks/{check.pk}/resume/")
    assert api.post(url).status_code == 200 and site.hits == 1
