"""Incidents drive components (SQL triggers), history records every change, worst wins."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from incidents.lifecycle import acknowledge, resolve
from incidents.models import Incident
from statuspages import services
from statuspages.models import ComponentStatusHistory, StatusPageIncident

from .conftest import open_incident_sql, resolve_incident_sql, statuses


def test_incident_moves_linked_components_by_severity_and_back(setup_a):
    s = setup_a
    incident = open_incident_sql(s.api_service, "critical")
    assert statuses(s.api, s.web, s.db) == ["major_outage", "major_outage", "operational"]
    resolve_incident_sql(incident)
    assert statuses(s.api, s.web, s.db) == ["operational", "operational", "operational"]
    history = list(
        ComponentStatusHistory.objects.filter(component=s.api)
        .order_by("changed_at")
        .values_list("old_status", "new_status")
    )
    assert history == [
        (None, "operational"),
        ("operational", "major_outage"),
        ("major_outage", "operational"),
    ]


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("critical", "major_outage"),
        ("high", "partial_outage"),
        ("medium", "degraded_performance"),
        ("low", "degraded_performance"),
        ("info", "degraded_performance"),
    ],
)
def test_severity_mapping(setup_a, severity, expected):
    open_incident_sql(setup_a.web_service, severity)
    assert statuses(setup_a.web) == [expected]


def test_resolve_keeps_component_held_by_another_open_incident(setup_a):
    s = setup_a
    on_api = open_incident_sql(s.api_service, "critical")
    on_web = open_incident_sql(s.web_service, "low")
    assert statuses(s.api, s.web) == ["major_outage", "major_outage"]
    resolve_incident_sql(on_api)
    # web is still held by the low-severity incident on its other service
    assert statuses(s.api, s.web) == ["operational", "degraded_performance"]
    resolve_incident_sql(on_web)
    assert statuses(s.web) == ["operational"]


def test_acknowledging_keeps_the_component_down_and_python_lifecycle_works(setup_a, admin_a):
    s = setup_a
    incident = Incident.objects.create(
        organization=s.organization, service=s.api_service, title="Slow", severity="high"
    )
    acknowledge(incident, admin_a)
    assert statuses(s.api) == ["partial_outage"]
    resolve(incident, admin_a)
    assert statuses(s.api) == ["operational"]


def test_severity_change_of_open_incident_recomputes(setup_a):
    incident = open_incident_sql(setup_a.api_service, "low")
    assert statuses(setup_a.api) == ["degraded_performance"]
    Incident.objects.filter(pk=incident).update(severity="critical")
    assert statuses(setup_a.api) == ["major_outage"]


def test_active_maintenance_holds_after_resolve(setup_a):
    s = setup_a
    now = timezone.now()
    window = services.schedule_maintenance(
        s.page,
        name="Upgrade",
        scheduled_start=now - dt.timedelta(hours=1),
        scheduled_end=now + dt.timedelta(hours=1),
        components=[s.api],
    )
    services.set_maintenance_status(window, "in_progress")
    assert statuses(s.api) == ["under_maintenance"]
    incident = open_incident_sql(s.api_service, "critical")
    assert statuses(s.api) == ["major_outage"]  # an outage outranks maintenance
    resolve_incident_sql(incident)
    assert statuses(s.api) == ["under_maintenance"]
    services.set_maintenance_status(window, "completed")
    assert statuses(s.api) == ["operational"]


def test_linking_a_service_with_an_open_incident_turns_component_red(setup_a):
    from statuspages.models import ComponentService

    s = setup_a
    open_incident_sql(s.web_service, "critical")
    assert statuses(s.db) == ["operational"]
    ComponentService.objects.create(
        organization=s.organization, component=s.db, service=s.web_service
    )
    assert statuses(s.db) == ["major_outage"]


def test_every_status_change_is_history_even_by_raw_sql(setup_a):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE status_page_components SET status = 'partial_outage' WHERE id = %s",
            [setup_a.db.pk],
        )
    row = ComponentStatusHistory.objects.filter(component=setup_a.db).latest("changed_at")
    assert (row.old_status, row.new_status, row.reason) == (
        "operational",
        "partial_outage",
        "manual",
    )


def test_component_change_bumps_page_version(setup_a):
    before = type(setup_a.page).objects.get(pk=setup_a.page.pk).content_version
    services.set_component_status(setup_a.db, "degraded_performance")
    after = type(setup_a.page).objects.get(pk=setup_a.page.pk).content_version
    assert after > before


def test_monitoring_check_function(setup_a):
    import uuid

    check_id = uuid.uuid4()
    type(setup_a.db).objects.filter(pk=setup_a.db.pk).update(monitoring_check_id=check_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_components_for_monitoring_check(%s, 'major_outage')", [check_id])
        assert cursor.fetchone()[0] == 1
    assert statuses(setup_a.db) == ["major_outage"]
    assert services.set_components_for_monitoring_check(check_id, "operational") == 1
    assert statuses(setup_a.db) == ["operational"]
    with pytest.raises(ValidationError):
        services.set_components_for_monitoring_check(check_id, "on_fire")


def test_publish_incident_in_one_step_and_resolution(setup_a, admin_a):
    s = setup_a
    incident = Incident.objects.create(
        organization=s.organization, service=s.api_service, title="API errors", severity="high"
    )
    published = services.publish_incident(
        incident, s.page, message="We are **investigating**.", user=admin_a
    )
    assert published.name == "API errors"
    assert published.impact == "major"
    assert published.status == "investigating"
    assert set(published.components.all()) == {s.api, s.web}
    assert published.updates.count() == 1
    first = published.updates.get()
    assert {a["name"] for a in first.affected_components} == {s.api.name, s.web.name}

    services.post_update(
        published,
        status="identified",
        message="Found it.",
        components={s.db: "degraded_performance"},
    )
    assert statuses(s.db) == ["degraded_performance"]
    services.post_update(published, status="monitoring", message="Fix deployed.")
    published.refresh_from_db()
    assert published.monitoring_at is not None
    services.post_update(published, status="resolved", message="All good.")
    published.refresh_from_db()
    assert published.status == "resolved" and published.resolved_at is not None
    # db is released; api/web are still held by the internal incident, which is open.
    assert statuses(s.db, s.api, s.web) == ["operational", "partial_outage", "partial_outage"]
    resolve_incident_sql(incident.pk)
    assert statuses(s.api, s.web) == ["operational", "operational"]


def test_publish_refuses_bad_input_and_writes_nothing(setup_a, setup_b):
    incident_b = Incident.objects.create(
        organization=setup_b.organization, service=setup_b.api_service, title="B"
    )
    with pytest.raises(ValidationError):
        services.publish_incident(None, setup_a.page, name="X", message="   ")
    with pytest.raises(ValidationError):
        services.publish_incident(None, setup_a.page, name="X", message="m", status="on_fire")
    with pytest.raises(ValidationError):
        services.publish_incident(incident_b, setup_a.page, message="m")
    with pytest.raises(ValidationError):
        services.publish_incident(
            None, setup_a.page, name="X", message="m", components=[setup_b.api]
        )
    assert not StatusPageIncident.objects.filter(status_page=setup_a.page).exists()
