"""Organization A's page never shows B's rows; a slug resolves only to its own page."""

from django.db import connection

from alert24.tenancy import organization_scope
from statuspages import services
from statuspages.models import Component, StatusPage, StatusPageIncident
from statuspages.public import lookup


def test_pages_show_only_their_own_organization(client, setup_a, setup_b):
    services.publish_incident(None, setup_a.page, name="Incident of A", message="a")
    services.publish_incident(None, setup_b.page, name="Incident of B", message="b")
    a = client.get(f"/status/{setup_a.page.slug}/").content.decode()
    b = client.get(f"/status/{setup_b.page.slug}/").content.decode()
    assert setup_a.api.name in a and "Incident of A" in a
    assert setup_b.api.name not in a and "Incident of B" not in a
    assert setup_b.api.name in b and "Incident of B" in b
    assert setup_a.api.name not in b and "Incident of A" not in b
    summary = client.get(f"/status/{setup_a.page.slug}/api/v2/summary.json").json()
    assert {c["page_id"] for c in summary["components"]} == {str(setup_a.page.pk)}
    assert [i["name"] for i in summary["incidents"]] == ["Incident of A"]


def test_slug_resolves_only_to_its_page(setup_a, setup_b):
    ref = lookup(setup_b.page.slug)
    assert (ref.id, ref.organization_id) == (setup_b.page.pk, setup_b.organization.pk)
    assert lookup(setup_a.page.slug).organization_id == setup_a.organization.pk
    assert lookup("nope") is None


def test_anonymous_role_sees_nothing_but_the_lookup(setup_a):
    with organization_scope(None):
        assert StatusPage.objects.count() == 0
        assert Component.objects.count() == 0
        assert lookup(setup_a.page.slug) is not None  # the SECURITY DEFINER door
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM status_page_lookup(%s)", [setup_a.page.slug])
            columns = [c.name for c in cursor.description]
    assert "name" not in columns and "description" not in columns  # no content leaks


def test_scoped_queries_cannot_reach_the_other_organization(setup_a, setup_b):
    services.publish_incident(None, setup_b.page, name="B", message="b")
    with organization_scope(setup_a.organization.pk):
        assert set(StatusPage.objects.values_list("pk", flat=True)) == {setup_a.page.pk}
        assert not StatusPageIncident.objects.filter(status_page=setup_b.page).exists()
        assert Component.objects.filter(pk=setup_b.api.pk).update(status="major_outage") == 0
