"""Custom domains, the admin, and page-view analytics without a write per view."""

import pytest

from statuspages import analytics
from statuspages.models import StatusPage, StatusPageAnalytics


@pytest.fixture
def domain(setup_a, settings):
    StatusPage.objects.filter(pk=setup_a.page.pk).update(custom_domain="status.acme.test")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "status.acme.test", "other.test"]
    return "status.acme.test"


def test_custom_domain_serves_the_page_at_root(client, setup_a, domain):
    response = client.get("/", HTTP_HOST=domain)
    assert response.status_code == 200
    html = response.content.decode()
    assert setup_a.api.name in html
    assert 'href="/history/"' in html  # links stay on the custom domain
    assert client.get("/history/", HTTP_HOST=domain).status_code == 200
    data = client.get("/api/v2/summary.json", HTTP_HOST=f"{domain}:443").json()
    assert data["page"]["url"] == f"https://{domain}"
    # Nothing else of the application is reachable there.
    assert client.get("/admin/", HTTP_HOST=domain).status_code == 404
    # An unknown host falls through to the normal site.
    assert client.get(f"/status/{setup_a.page.slug}/", HTTP_HOST="other.test").status_code == 200


def test_custom_domain_is_validated(setup_a, org_b):
    from django.core.exceptions import ValidationError

    page = StatusPage(organization=org_b, name="X", slug="x-page", custom_domain="not a domain")
    with pytest.raises(ValidationError):
        page.full_clean()


def test_admin_lists_only_own_organization(client, setup_a, setup_b, admin_a):
    admin_a.is_staff = admin_a.is_superuser = True
    admin_a.save()
    client.force_login(admin_a)
    for model in [
        "statuspage", "component", "componentgroup", "statuspageincident",
        "statuspageincidentupdate", "maintenancewindow", "subscriber",
        "subscribernotification", "componentstatushistory", "uptimecalculation",
        "statuspageanalytics",
    ]:  # fmt: skip
        response = client.get(f"/admin/statuspages/{model}/")
        assert response.status_code == 200, model
    html = client.get("/admin/statuspages/statuspage/").content.decode()
    assert setup_a.page.slug in html and setup_b.page.slug not in html
    change = client.get(f"/admin/statuspages/statuspage/{setup_a.page.pk}/change/")
    assert change.status_code == 200 and setup_a.api.name in change.content.decode()


def test_views_are_counted_in_redis_and_flushed_in_bulk(client, setup_a):
    analytics.flush()  # start from nothing pending
    for _ in range(3):
        client.get(f"/status/{setup_a.page.slug}/")
    assert not StatusPageAnalytics.objects.exists()  # no write per view
    assert analytics.flush() >= 3
    row = StatusPageAnalytics.objects.get(status_page=setup_a.page)
    assert row.page_views == 3
    client.get(f"/status/{setup_a.page.slug}/")
    analytics.flush()
    row.refresh_from_db()
    assert row.page_views == 4
