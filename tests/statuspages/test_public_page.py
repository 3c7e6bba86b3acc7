"""The public page: content, escaping, caching (ETag/304), private pages, slugs."""

import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import OrganizationMember
from statuspages import services
from statuspages.models import StatusPage

from .conftest import age_page, open_incident_sql


def test_page_shows_banner_components_groups_and_uptime(client, setup_a):
    age_page(setup_a)
    services.calculate_uptime(days=90)
    response = client.get(f"/status/{setup_a.page.slug}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "All Systems Operational" in html
    assert setup_a.api.name in html and setup_a.db.name in html and "Core" in html
    assert html.count('<ol class="bars"') == 3
    assert html.count("<li class=") >= 3 * 90
    assert re.search(r'title="\d\d \w{3} \d{4}: 100\.00% uptime, no incidents"', html)
    assert 'aria-label="' in html and "<main" in html


@pytest.mark.parametrize(
    ("severity", "banner"),
    [
        ("critical", "Major System Outage"),
        ("high", "Partial System Outage"),
        ("low", "Minor Service Outage"),
    ],
)
def test_banner_follows_worst_component(client, setup_a, severity, banner):
    open_incident_sql(setup_a.api_service, severity)
    html = client.get(f"/status/{setup_a.page.slug}/").content.decode()
    assert banner in html


def test_maintenance_banner_and_sections(client, setup_a):
    now = timezone.now()
    window = services.schedule_maintenance(
        setup_a.page, name="DB move", scheduled_start=now - timezone.timedelta(minutes=5),
        scheduled_end=now + timezone.timedelta(hours=1), components=[setup_a.db],
    )  # fmt: skip
    services.schedule_maintenance(
        setup_a.page, name="Later work", scheduled_start=now + timezone.timedelta(days=2),
        scheduled_end=now + timezone.timedelta(days=2, hours=1),
    )  # fmt: skip
    services.set_maintenance_status(window, "in_progress")
    html = client.get(f"/status/{setup_a.page.slug}/").content.decode()
    assert "Service Under Maintenance" in html
    assert "Maintenance in progress" in html and "DB move" in html
    assert "Scheduled maintenance" in html and "Later work" in html


def test_incident_timeline_and_untrusted_text_is_escaped(client, setup_a):
    published = services.publish_incident(
        None, setup_a.page, name="<script>alert('name')</script>",
        message=(
            "**Bold** <script>alert(1)</script> [click](javascript:alert(2))"
            " <img src=x onerror=alert(3)>"
        ),
        components=[setup_a.api],
    )  # fmt: skip
    services.post_update(published, status="identified", message="Second _update_")
    for path in ["", "history/", f"incidents/{published.pk}/"]:
        html = client.get(f"/status/{setup_a.page.slug}/{path}").content.decode()
        assert "<script>alert" not in html
        assert "javascript:" not in html
        assert "onerror" not in html or "&lt;img" in html
        assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in html
    html = client.get(f"/status/{setup_a.page.slug}/incidents/{published.pk}/").content.decode()
    assert "<strong>Bold</strong>" in html and "<em>update</em>" in html
    assert html.index("Identified") < html.index("Investigating")  # newest first


def test_unknown_page_and_incident_of_other_page_are_404(client, setup_a, setup_b):
    assert client.get("/status/no-such-page/").status_code == 404
    other = services.publish_incident(None, setup_b.page, name="B only", message="b")
    assert client.get(f"/status/{setup_a.page.slug}/incidents/{other.pk}/").status_code == 404
    assert client.get(f"/status/{setup_a.page.slug}/incidents/{uuid.uuid4()}/").status_code == 404


def test_etag_304_and_invalidation_on_change(client, setup_a):
    url = f"/status/{setup_a.page.slug}/"
    first = client.get(url)
    etag = first["ETag"]
    assert first["Cache-Control"] == "public, max-age=30"
    assert first["Last-Modified"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and not again.content
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
    services.set_component_status(setup_a.db, "major_outage")
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert "Major System Outage" in changed.content.decode()
    api = client.get(f"/status/{setup_a.page.slug}/api/v2/status.json")
    assert (
        client.get(
            f"/status/{setup_a.page.slug}/api/v2/status.json", HTTP_IF_NONE_MATCH=api["ETag"]
        ).status_code
        == 304
    )


def test_private_page_requires_a_member(client, setup_a, admin_a, admin_b, make_user, org_b):
    StatusPage.objects.filter(pk=setup_a.page.pk).update(is_public=False)
    url = f"/status/{setup_a.page.slug}/"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert client.get(url + "api/v2/summary.json").status_code == 302
    client.force_login(admin_b)  # member of another organization
    assert client.get(url).status_code == 404
    client.force_login(admin_a)
    member = client.get(url)
    assert member.status_code == 200 and setup_a.api.name in member.content.decode()
    assert member["Cache-Control"] == "private, no-cache"
    # A user who belongs to both organizations, with B active, still gets in.
    both = make_user("both@example.com")
    OrganizationMember.objects.create(organization=setup_a.organization, user=both)
    OrganizationMember.objects.create(organization=org_b, user=both)
    client.force_login(both)
    assert client.get(url).status_code == 200


def test_private_page_ip_allow_list(client, setup_a):
    StatusPage.objects.filter(pk=setup_a.page.pk).update(
        is_public=False, allowed_ips="10.0.0.0/8, 127.0.0.1"
    )
    assert client.get(f"/status/{setup_a.page.slug}/").status_code == 200
    assert client.get(f"/status/{setup_a.page.slug}/", REMOTE_ADDR="192.0.2.1").status_code == 302


def test_slug_clash_is_a_clear_validation_error(setup_a, org_b):
    clash = StatusPage(organization=org_b, name="Clash", slug=setup_a.page.slug)
    with pytest.raises(ValidationError) as error:
        clash.full_clean()
    assert "This address is taken" in str(error.value)
    bad = StatusPage(organization=org_b, name="Bad", slug="Not a slug!")
    with pytest.raises(ValidationError):
        bad.full_clean()


def test_herd_is_served_from_cache_without_the_tenancy_stack(
    client, setup_a, django_assert_max_num_queries
):
    import gzip

    url = f"/status/{setup_a.page.slug}/"
    first = client.get(url)  # renders and caches
    with django_assert_max_num_queries(1):  # the lookup of the page version, nothing else
        again = client.get(url, HTTP_ACCEPT_ENCODING="gzip, br")
    assert again.status_code == 200 and again["Content-Encoding"] == "gzip"
    assert gzip.decompress(again.content) == first.content
    assert again["ETag"] == first["ETag"] and "Accept-Encoding" in again["Vary"]
    client.get(url + "api/v2/summary.json")
    with django_assert_max_num_queries(1):
        summary = client.get(url + "api/v2/summary.json")
    assert summary.status_code == 200
    # A private page is never answered by the fast path.
    StatusPage.objects.filter(pk=setup_a.page.pk).update(is_public=False)
    assert client.get(url).status_code == 302
