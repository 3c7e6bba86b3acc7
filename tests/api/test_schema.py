"""The OpenAPI schema validates, is served with its docs, and matches behaviour."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Api
from tests.incidents.factories import service

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "/api/v1/incidents/{id}/acknowledge/" in out.getvalue()


def test_schema_and_docs_are_served_without_a_key():
    client = Client()
    schema = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert schema.status_code == 200 and schema.json()["openapi"].startswith("3.")
    assert "ApiKey" in schema.json()["components"]["securitySchemes"]
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/redoc/").status_code == 200


def test_api_rate_limit_per_key_is_429_with_retry_after(api, read_api, world_a, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "3/min", "events": "9/min"},
    }
    statuses = [api.get("/api/v1/services/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get("/api/v1/services/")
    assert 1 <= int(response["Retry-After"]) <= 61
    assert response.json()["error"]["code"] == "throttled"
    assert read_api.get("/api/v1/services/").status_code == 200  # another key, its own budget


# An operation on one object meets random ids, answered 404 before any body or query is
# read: the coverage phase's hundreds of variants per operation would test routing only
# (and tripled the run time). Those operations get the fuzzing phase instead, aimed at real
# objects of the key's organization, for every resource (see ``real_object``).
CONFIG = SchemathesisConfig.from_dict(
    {"operations": [{"include-path-regex": r"\{", "phases": {"coverage": {"enabled": False}}}]}
)


def _load_schema():
    """The schema the app serves (same generator), made without a database at import time."""
    generator = SchemaGenerator()
    document = json.loads(json.dumps(generator.get_schema(request=None, public=True), default=str))
    loaded = schemathesis.openapi.from_dict(document, config=CONFIG)
    loaded.app = WSGIHandler()
    return loaded


SCHEMA = _load_schema()


@pytest.fixture
def keep_test_connection():
    """Like Django's test client, keep the per-request connection clean-up away: it would
    close the connection that holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_key(org_a, keep_test_connection) -> str:
    from accounts.api.keys import create_api_key

    service(org_a, name="Fuzzed")
    return create_api_key(org_a, "fuzz", scope="write").secret


@pytest.fixture
def real_object(org_a):
    """``real_object(path)``: the id of an object of the resource ``path`` names, made on
    first use (so updates, actions and nested lists are fuzzed past the 404). A builder
    returns the object, or the lookup value itself when it is not the primary key."""
    made: dict[str, str] = {}

    def build(path: str) -> str | None:
        resource = path.split("/")[3]
        if resource not in REAL_OBJECT_BUILDERS:
            return None
        if resource not in made:
            built = REAL_OBJECT_BUILDERS[resource](org_a)
            made[resource] = built if isinstance(built, str) else str(built.pk)
        return made[resource]

    return build


def _fuzzed_page(organization):
    from statuspages.models import StatusPage

    return StatusPage.objects.get_or_create(
        organization=organization, slug="fuzzed", defaults={"name": "Fuzzed"}
    )[0]


def _fuzzed_component(organization):
    from statuspages.models import Component

    return Component.objects.create(
        organization=organization, status_page=_fuzzed_page(organization), name="Fuzzed"
    )


def _fuzzed_check(organization):
    from tests.monitoring.factories import make_check

    # Refused by the target guard (private targets are off in tests): "run now" stays offline.
    return make_check(organization, "Fuzzed", config={"url": "http://127.0.0.1:9/fuzzed"})


def _fuzzed_incident(organization):
    from statuspages.services import publish_incident

    page = _fuzzed_page(organization)
    return publish_incident(None, page, name="Fuzzed", message="Fuzzed")


def _fuzzed_window(organization):
    from django.utils import timezone

    from statuspages.services import schedule_maintenance

    start = timezone.now() + dt.timedelta(days=1)
    return schedule_maintenance(
        _fuzzed_page(organization),
        name="Fuzzed",
        scheduled_start=start,
        scheduled_end=start + dt.timedelta(hours=1),
    )


def _fuzzed_group(organization):
    from statuspages.models import ComponentGroup

    return ComponentGroup.objects.create(
        organization=organization, status_page=_fuzzed_page(organization), name="Fuzzed"
    )


def _fuzzed_subscriber(organization):
    from statuspages.subscriptions import subscribe

    return subscribe(_fuzzed_page(organization), "webhook", "https://example.com/hook").subscriber


def _fuzzed_member(organization):
    from accounts.models import User
    from tests.incidents.factories import member

    existing = User.objects.filter(email="fuzzed@example.com").first()
    return existing or member(organization, "fuzzed@example.com")


def _fuzzed_team(organization):
    from accounts.models import TeamGroup, TeamMembership

    team, created = TeamGroup.objects.get_or_create(organization=organization, name="Fuzzed")
    if created:
        TeamMembership.objects.create(
            organization=organization, team=team, user=_fuzzed_member(organization)
        )
    return team


def _fuzzed_schedule(organization):
    """A daily rotation of one member, so "on call now" and shifts have someone to name."""

    from incidents.models import OnCallSchedule, ScheduleLayer, ScheduleLayerMember

    schedule, created = OnCallSchedule.objects.get_or_create(
        organization=organization, name="Fuzzed"
    )
    if created:
        layer = ScheduleLayer.objects.create(
            organization=organization,
            schedule=schedule,
            rotation_unit="days",
            rotation_length=1,
            # Before the documented example window of /shifts, so it has shifts to list.
            rotation_start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
        ScheduleLayerMember.objects.create(
            organization=organization, layer=layer, user=_fuzzed_member(organization)
        )
    return schedule


def _fuzzed_policy(organization):
    """Two levels (a member, then the schedule and the team) handing off to nobody."""
    from incidents.models import EscalationPolicy
    from tests.incidents.factories import policy

    existing = EscalationPolicy.objects.filter(organization=organization, name="Fuzzed").first()
    return existing or policy(
        organization,
        [
            [_fuzzed_member(organization)],
            [_fuzzed_schedule(organization), _fuzzed_team(organization)],
        ],
        name="Fuzzed",
    )


def _fuzzed_service(organization):
    """Not the fuzz key's bare "Fuzzed" service: this one has a policy and an integration."""
    from incidents.models import Service, ServiceIntegration

    existing = Service.objects.filter(organization=organization, name="Fuzzed service").first()
    if existing:
        return existing
    made = service(organization, _fuzzed_policy(organization), name="Fuzzed service")
    ServiceIntegration.objects.create(organization=organization, service=made)
    return made


def _fuzzed_incident_response(organization):
    """A triggered incident with a note, on a service with a policy (so acknowledge and
    resolve run the whole lifecycle, escalation state included)."""
    from incidents import lifecycle

    opened = lifecycle.open_incident(
        _fuzzed_service(organization), "Fuzzed", dedup_key="fuzzed"
    ).incident
    lifecycle.add_note(opened, _fuzzed_member(organization), "Fuzzed note")
    return opened


def _fuzzed_location(organization):
    """Locations are shared by every organization and looked up by code."""
    from monitoring.models import MonitoringLocation

    return MonitoringLocation.objects.filter(is_active=True).order_by("code").first().code


REAL_OBJECT_BUILDERS = {
    "incidents": _fuzzed_incident_response,
    "services": _fuzzed_service,
    "escalation-policies": _fuzzed_policy,
    "schedules": _fuzzed_schedule,
    "users": _fuzzed_member,
    "teams": _fuzzed_team,
    "checks": _fuzzed_check,
    "monitoring-locations": _fuzzed_location,
    "status-pages": _fuzzed_page,
    "component-groups": _fuzzed_group,
    "components": _fuzzed_component,
    "status-page-incidents": _fuzzed_incident,
    "maintenance-windows": _fuzzed_window,
    "subscribers": _fuzzed_subscriber,
}


@SCHEMA.parametrize()
@settings(max_examples=2, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, fuzz_key, real_object):
    """No 5xx, documented statuses, bodies and headers as the schema says, auth enforced."""
    parameters = case.path_parameters or {}
    for name in ("id", "check_id", "code"):
        if name in parameters:
            real = real_object(case.operation.path)
            if real is not None:
                parameters[name] = real
    case.call_and_validate(
        headers={"Authorization": f"Bearer {fuzz_key}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            response_headers_conformance,
            ignored_auth,
        ],
    )


def test_read_only_fuzzing_leaves_no_writes(world_a, read_key_a):
    assert Api(read_key_a).post("/api/v1/services/", {"name": "x"}).status_code == 403
