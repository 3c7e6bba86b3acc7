"""Admin: a check's secrets are write-only as in the API, and "Run selected checks now" takes
the same on-demand limit as the API and the responder app.

Managers of the organization use the real admin pages (no superuser shortcuts); the form is
posted back with the config the page rendered, as a browser would.
"""

from __future__ import annotations

import html
import json
import re

import pytest

from accounts.roles import Role
from monitoring import on_demand
from monitoring.checks.secrets import MASK
from monitoring.models import CheckResult, MonitoringCheck

from .factories import check_form, make_check

pytestmark = pytest.mark.django_db

URL = "/admin/monitoring/monitoringcheck/"
SECRETS = ("t0ps3cret", "s3cret-bearer", "pa55w0rd")
CONFIG = {
    "url": "https://example.com/health?token=t0ps3cret&region=eu",
    "headers": {"Authorization": "Bearer s3cret-bearer", "Accept": "application/json"},
    "basic_auth_user": "ops",
    "basic_auth_password": "pa55w0rd",
}


def shown_config(page) -> dict:
    """The config as the change page's textarea shows it."""
    match = re.search(r'<textarea name="config"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert match, "no config field on the page"
    return json.loads(html.unescape(match[1]))


def form(config: dict, **fields) -> dict:
    return check_form(
        **{"name": "Private API", "check_type": "http", "config": json.dumps(config), **fields}
    )


def test_change_page_and_list_show_the_secrets_masked(client, sign_in, org_a):
    sign_in(org_a, Role.MANAGER)
    check = make_check(org_a, "Private API", config=CONFIG)
    page = client.get(f"{URL}{check.pk}/change/").content.decode()
    for secret in SECRETS:
        assert secret not in page
    assert shown_config(page) == {
        "url": "https://example.com/health?token=********&region=eu",
        "headers": {"Authorization": MASK, "Accept": "application/json"},
        "basic_auth_user": "ops",
        "basic_auth_password": MASK,
    }
    listing = client.get(URL).content.decode()
    assert "Private API" in listing
    for secret in SECRETS:
        assert secret not in listing


def test_saving_the_form_untouched_keeps_the_secrets(client, sign_in, org_a):
    sign_in(org_a, Role.MANAGER)
    check = make_check(org_a, "Private API", config=CONFIG)
    shown = shown_config(client.get(f"{URL}{check.pk}/change/").content.decode())
    response = client.post(f"{URL}{check.pk}/change/", form(shown, name="Renamed"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    check.refresh_from_db()
    assert check.name == "Renamed"
    assert {k: check.config[k] for k in CONFIG} == CONFIG


def test_a_changed_secret_replaces_the_stored_one(client, sign_in, org_a):
    sign_in(org_a, Role.MANAGER)
    check = make_check(org_a, "Private API", config=CONFIG)
    shown = shown_config(client.get(f"{URL}{check.pk}/change/").content.decode())
    shown["url"] = "https://example.com/health?token=r0tated&region=eu"
    shown["headers"]["Authorization"] = "Bearer n3w"
    assert client.post(f"{URL}{check.pk}/change/", form(shown)).status_code == 302
    check.refresh_from_db()
    assert check.config["url"] == "https://example.com/health?token=r0tated&region=eu"
    assert check.config["headers"]["Authorization"] == "Bearer n3w"
    assert check.config["basic_auth_password"] == "pa55w0rd"  # still masked, so kept


def test_the_mask_without_a_stored_secret_is_a_form_error(client, sign_in, org_a):
    sign_in(org_a, Role.MANAGER)
    check = make_check(org_a, "Private API", config=CONFIG)
    shown = shown_config(client.get(f"{URL}{check.pk}/change/").content.decode())
    shown["url"] += "&api_key=" + MASK
    response = client.post(f"{URL}{check.pk}/change/", form(shown, name="Renamed"))
    assert response.status_code == 200
    assert "api_key" in str(response.context["adminform"].form.errors["config"])
    check.refresh_from_db()
    assert check.name == "Private API" and check.config["url"] == CONFIG["url"]


def test_a_viewer_reads_the_config_masked(client, sign_in, org_a):
    sign_in(org_a, Role.VIEWER, is_staff=True)
    check = make_check(org_a, "Private API", config=CONFIG)
    page = client.get(f"{URL}{check.pk}/change/").content.decode()
    assert "Private API" in page and "region=eu" in page and MASK in page
    for secret in SECRETS:
        assert secret not in page


def test_another_organizations_manager_gets_nothing(client, sign_in, org_a, org_b):
    ours = make_check(org_a, "Private API", config=CONFIG)
    sign_in(org_b, Role.MANAGER)
    theirs = make_check(org_b, "Theirs", config={"url": "https://example.com/"})
    page = client.get(f"{URL}{ours.pk}/change/", follow=True).content.decode()
    assert "exist. Perhaps it was deleted?" in page
    shown = {"url": "https://example.com/health?token=********&region=eu"}
    client.post(f"{URL}{ours.pk}/change/", form(shown, name="Hijacked"))
    # On their own check the mask has nothing stored to keep: A's secret is not borrowed.
    response = client.post(f"{URL}{theirs.pk}/change/", form(shown, name="Theirs"))
    assert response.status_code == 200 and "config" in response.context["adminform"].form.errors
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.name == "Private API" and ours.config == CONFIG
    assert theirs.config == {"url": "https://example.com/"}


# --- "Run selected checks now" through the on-demand limit --------------------------------


@pytest.fixture
def responder(client, sign_in, org_a, settings):
    settings.MONITORING_ALLOW_PRIVATE_TARGETS = True
    sign_in(org_a, Role.RESPONDER, is_staff=True)
    return client


def run(client, *checks) -> str:
    response = client.post(
        URL, {"action": "run_now", "_selected_action": [c.pk for c in checks]}, follow=True
    )
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_a_check_run_again_within_its_cooldown_is_skipped(responder, org_a, http_servers):
    check = make_check(org_a, "Homepage", config={"url": f"{http_servers.base}/ok"})
    assert "Ran 1 check(s): Homepage (up)." in run(responder, check)
    again = run(responder, check)
    assert "Skipped 1 check(s): Homepage. This check may be run on demand once every" in again
    assert re.search(r"Retry in \d+ s\.", again) and "Ran " not in again
    assert CheckResult.objects.filter(monitor=check).count() == 1


def test_the_organization_budget_skips_the_rest(responder, org_a, http_servers, monkeypatch):
    monkeypatch.setattr(on_demand, "ORGANIZATION_RUNS", 2)
    checks = [
        make_check(org_a, f"Probe {n}", config={"url": f"{http_servers.base}/ok"}) for n in range(3)
    ]
    page = run(responder, *checks)
    assert "Ran 2 check(s): Probe 0 (up), Probe 1 (up)." in page
    assert "Skipped 1 check(s): Probe 2. This organization may run checks on demand 2" in page
    assert CheckResult.objects.filter(monitor__in=checks).count() == 2
    assert not CheckResult.objects.filter(monitor=checks[2]).exists()


def test_paused_checks_are_skipped_and_say_so(responder, org_a, http_servers):
    check = make_check(org_a, "Paused", config={"url": f"{http_servers.base}/ok"})
    MonitoringCheck.objects.filter(pk=check.pk).update(is_paused=True)
    page = run(responder, check)
    assert "Skipped 1 check(s): Paused. The check is paused; resume it first." in page
    assert not CheckResult.objects.filter(monitor=check).exists()


def test_without_redis_nothing_runs_and_the_message_says_why(
    responder, org_a, http_servers, settings
):
    checks = [
        make_check(org_a, f"Probe {n}", config={"url": f"{http_servers.base}/ok"}) for n in range(2)
    ]
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    page = run(responder, *checks)
    assert "Skipped 2 check(s): Probe 0, Probe 1. The run-now limit cannot be checked" in page
    assert "Redis is unreachable" in page
    assert not CheckResult.objects.filter(monitor__in=checks).exists()


def test_another_organizations_checks_are_not_run(responder, org_a, org_b, http_servers):
    ours = make_check(org_a, "Ours", config={"url": f"{http_servers.base}/ok"})
    theirs = make_check(org_b, "Theirs", config={"url": f"{http_servers.base}/ok"})
    page = run(responder, ours, theirs)
    assert "Ran 1 check(s): Ours (up)." in page and "Theirs" not in page
    assert not CheckResult.objects.filter(monitor=theirs).exists()
