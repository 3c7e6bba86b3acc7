"""Admin: endpoints (bad input refused by field), the read-only delivery log, actions,
and organization isolation under RLS."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from accounts.models import OrganizationMember
from accounts.roles import Role
from incidents import lifecycle
from tests.incidents.factories import service
from webhooks.models import WebhookDelivery, WebhookEndpoint

from .conftest import deliveries

pytestmark = pytest.mark.django_db

ENDPOINTS = "/admin/webhooks/webhookendpoint/"
DELIVERIES = "/admin/webhooks/webhookdelivery/"


@pytest.fixture
def client_a(client, admin_a):
    client.force_login(admin_a)
    return client


def form(**fields):
    data = {
        "url": "https://hooks.example.com/alert24",
        "description": "Ops bot",
        "event_types": ["incident.triggered", "monitor.down"],
        "enabled": "on",
    }
    data.update(fields)
    return data


def test_admin_registers_an_endpoint_and_sees_its_secret(client_a, org_a, admin_a):
    response = client_a.post(ENDPOINTS + "add/", form(), follow=True)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.organization == org_a and endpoint.created_by == admin_a
    assert endpoint.event_types == ["incident.triggered", "monitor.down"]
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    assert endpoint.secret in response.content.decode()  # shown once on creation...
    page = client_a.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert endpoint.secret in page  # ...and readable by admins afterwards


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"url": "http://hooks.example.com/x"}, "url", "must use https://"),
        ({"url": "http://127.0.0.1:8080/x"}, "url", "must use https://"),  # not allowed here
        ({"url": "https://10.0.0.5/x"}, "url", "private, loopback or link-local"),
        ({"url": "https://user:pw@hooks.example.com/"}, "url", "credentials"),
        ({"url": "ftp://hooks.example.com/"}, "url", "https://"),
        ({"event_types": ["incident.exploded"]}, "event_types", "not one of the available"),
        ({"event_types": []}, "event_types", "required"),
    ],
)
def test_bad_input_is_a_field_error_and_nothing_is_saved(client_a, fields, field, message):
    response = client_a.post(ENDPOINTS + "add/", form(**fields))
    assert response.status_code == 200  # the form again, not a redirect, never a 500
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert not WebhookEndpoint.objects.exists()


def test_loopback_http_is_allowed_only_with_private_targets(client_a, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    response = client_a.post(ENDPOINTS + "add/", form(url="http://127.0.0.1:9000/hook"))
    assert response.status_code == 302
    response = client_a.post(ENDPOINTS + "add/", form(url="http://192.168.1.10/hook"))
    assert "must use https://" in " ".join(response.context["adminform"].form.errors["url"])


def test_model_validation_names_unknown_event_types(org_a):
    from django.core.exceptions import ValidationError

    endpoint = WebhookEndpoint(
        organization=org_a,
        url="https://hooks.example.com/",
        event_types=["incident.triggered", "incident.exploded"],
    )
    with pytest.raises(ValidationError) as caught:
        endpoint.full_clean()
    assert "incident.exploded" in " ".join(caught.value.message_dict["event_types"])


def test_the_database_refuses_unknown_event_types_from_raw_sql(org_a):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO webhook_endpoints (organization_id, url, event_types, secret)"
            " VALUES (%s, 'https://x.example.com/', ARRAY['incident.exploded'], 's')",
            [org_a.pk],
        )


def test_delivery_log_is_read_only_and_scoped(client_a, org_a, org_b, admin_b, client):
    mine = WebhookEndpoint.objects.create(
        organization=org_a, url="https://a.example.com/", event_types=["incident.triggered"]
    )
    theirs = WebhookEndpoint.objects.create(
        organization=org_b, url="https://b.example.com/", event_types=["incident.triggered"]
    )
    lifecycle.open_incident(service(org_a, name="A"), "Ours broke")
    lifecycle.open_incident(service(org_b, name="B"), "Theirs broke")
    (own,) = deliveries(mine)
    (other,) = deliveries(theirs)

    listing = client_a.get(DELIVERIES).content.decode()
    assert "a.example.com" in listing and "b.example.com" not in listing
    detail = client_a.get(f"{DELIVERIES}{own.pk}/change/")
    assert detail.status_code == 200
    assert "Ours broke" in detail.content.decode()  # the payload
    assert client_a.get(f"{DELIVERIES}add/").status_code == 403
    # B's delivery and endpoint do not exist for A (redirected away, nothing shown).
    for url in (f"{DELIVERIES}{other.pk}/change/", f"{ENDPOINTS}{theirs.pk}/change/"):
        response = client_a.get(url, follow=True)
        assert response.redirect_chain and "Theirs broke" not in response.content.decode()
        assert "b.example.com" not in response.content.decode()
    # The endpoint list links to its log, filtered by endpoint; B's endpoint shows nothing.
    filtered = client_a.get(DELIVERIES, {"endpoint__id__exact": mine.pk})
    assert filtered.status_code == 200
    assert list(filtered.context["cl"].result_list) == [own]
    listing = client_a.get(DELIVERIES, {"endpoint__id__exact": theirs.pk}).content.decode()
    assert "Theirs broke" not in listing and "b.example.com" not in listing
    # A's "redeliver" cannot reach B's delivery.
    client_a.post(DELIVERIES, {"action": "redeliver", "_selected_action": [other.pk]})
    other.refresh_from_db()
    assert other.attempts == 0 and other.status == "pending" and other.enqueued_at is None


def test_redeliver_and_test_event_actions(client_a, org_a, django_capture_on_commit_callbacks):
    endpoint = WebhookEndpoint.objects.create(
        organization=org_a, url="https://a.example.com/", event_types=["incident.triggered"]
    )
    lifecycle.open_incident(service(org_a, name="A"), "Ours broke")
    (row,) = deliveries(endpoint)
    WebhookDelivery.objects.filter(pk=row.pk).update(status="failed", attempts=8)
    with django_capture_on_commit_callbacks() as callbacks:
        client_a.post(DELIVERIES, {"action": "redeliver", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 0)
    assert callbacks  # a worker is kicked after the commit

    client_a.post(ENDPOINTS, {"action": "send_test_event", "_selected_action": [endpoint.pk]})
    ping = WebhookDelivery.objects.get(event__event_type="ping")
    assert ping.endpoint == endpoint and ping.status == "pending"

    old_secret = endpoint.secret
    client_a.post(ENDPOINTS, {"action": "roll_secret", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret and endpoint.secret.startswith("whsec_")


@pytest.mark.parametrize("role", [Role.MANAGER, Role.RESPONDER])
def test_only_admins_see_webhooks(client, make_user, org_a, role):
    user = make_user(f"{role}@example.com", is_staff=True)
    OrganizationMember.objects.create(organization=org_a, user=user, role=role)
    WebhookEndpoint.objects.create(
        organization=org_a, url="https://a.example.com/", event_types=["incident.triggered"]
    )
    client.force_login(user)
    assert client.get(ENDPOINTS).status_code == 403
    assert client.get(DELIVERIES).status_code == 403
