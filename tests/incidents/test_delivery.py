"""Delivering pages end to end: rules, channels, history, retries, links and replies."""

import datetime as dt
import email
import email.policy
import re
from urllib.parse import urlparse

import pytest
from django.utils import timezone
from twilio.request_validator import RequestValidator

from accounts.models import UserNotificationPreference
from incidents import delivery, lifecycle
from incidents.models import Incident, IncidentNotification, NotificationHistory, NotificationRule
from tests.channels.test_email import Inbox, smtp  # noqa: F401 - fixture
from tests.channels.test_twilio import FROM, SID, TOKEN, twilio  # noqa: F401 - fixture
from tests.incidents.factories import member, policy, service


def run_engine() -> list[str]:
    """Sweep, then expand every page; returns the delivery rows due now (like the tasks)."""
    from incidents import engine

    engine.sweep()
    due = []
    for page in IncidentNotification.objects.filter(status="dispatched"):
        due += delivery.expand_page(str(page.pk))
    return due


def send_all(ids: list[str]) -> list[str | None]:
    return [delivery.send(history_id) for history_id in ids]


@pytest.fixture
def ana(org_a):
    return member(org_a, "ana@example.com")


@pytest.fixture
def incident(org_a, ana):
    svc = service(org_a, policy(org_a, [[ana]]))
    return lifecycle.open_incident(svc, "Checkout <b>down</b>").incident


def mail_of(envelope):
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


def link(mail, action: str) -> str:
    text = mail.get_body(("plain",)).get_content()
    url = next(u for u in re.findall(r"https?://\S+", text) if "/incidents/actions/" in u)
    assert url.startswith("https://alert24.example.com/")
    return urlparse(url).path


def test_email_page_arrives_and_its_acknowledge_link_works(smtp, incident, ana, client):  # noqa: F811
    results = send_all(run_engine())
    assert results == ["sent"]
    (envelope,) = smtp.messages
    mail = mail_of(envelope)
    assert envelope.rcpt_tos == ["ana@example.com"]
    assert "Checkout <b>down</b>" in mail["Subject"]
    history = NotificationHistory.objects.get()
    assert history.status == "sent" and history.sent_at and history.attempts == 1

    acknowledge = link(mail, "acknowledge")
    confirm = client.get(acknowledge)  # a mail scanner's GET changes nothing
    assert confirm.status_code == 200 and b"Acknowledge this incident?" in confirm.content
    assert b"Checkout &lt;b&gt;down&lt;/b&gt;" in confirm.content
    assert Incident.objects.get(pk=incident.pk).status == "triggered"
    done = client.post(acknowledge)
    assert done.status_code == 200 and b"Acknowledged" in done.content
    incident.refresh_from_db()
    assert incident.status == "acknowledged" and incident.acknowledged_by == ana
    assert incident.updates.filter(message="Acknowledged: acknowledge link in e-mail").exists()
    again = client.post(acknowledge)
    assert b"Already acknowledged" in again.content


def test_forged_expired_and_foreign_links(client, channel_settings, incident, ana, admin_b):
    from incidents.action_tokens import make_action_token

    assert client.get("/incidents/actions/not-a-token/").status_code == 404
    token = make_action_token(incident.pk, ana.pk, "acknowledge")
    assert client.post(f"/incidents/actions/{token[:-2]}xx/").status_code == 404
    expired = make_action_token(incident.pk, ana.pk, "resolve", ttl=1)
    import time

    time.sleep(2.1)
    assert client.post(f"/incidents/actions/{expired}/").status_code == 410
    outsider = make_action_token(incident.pk, admin_b.pk, "resolve")
    assert client.post(f"/incidents/actions/{outsider}/").status_code == 403
    assert Incident.objects.get(pk=incident.pk).status == "triggered"


def test_personal_rules_delay_steps(org_a, ana, settings):
    sms = ana.contact_methods.create(method_type="sms", value="+14155550123")
    mail = ana.contact_methods.get(method_type="email")
    NotificationRule.objects.create(
        organization=org_a, user=ana, contact_method=mail, urgency="high"
    )
    NotificationRule.objects.create(
        organization=org_a, user=ana, contact_method=sms, urgency="high", start_delay_minutes=5
    )
    svc = service(org_a, policy(org_a, [[ana]]))
    lifecycle.open_incident(svc, "Down")
    due = run_engine()
    rows = {row.channel: row for row in NotificationHistory.objects.all()}
    assert set(rows) == {"email", "sms"}
    assert due == [str(rows["email"].pk)]
    delay = rows["sms"].next_attempt_at - rows["email"].next_attempt_at
    assert dt.timedelta(minutes=4, seconds=59) < delay <= dt.timedelta(minutes=5, seconds=1)


def test_quiet_hours_hold_low_urgency_but_never_high(org_a, ana):
    UserNotificationPreference.objects.create(
        user=ana,
        quiet_hours_enabled=True,
        quiet_hours_start=dt.time(0, 0),
        quiet_hours_end=dt.time(23, 59),
    )
    low = service(org_a, policy(org_a, [[ana]]), urgency_rule="low", name="Low")
    high = service(org_a, policy(org_a, [[ana]], name="P2"), name="High")
    lifecycle.open_incident(low, "Low urgency")
    lifecycle.open_incident(high, "High urgency")
    run_engine()
    now = timezone.now()
    by_urgency = {row.incident.urgency: row for row in NotificationHistory.objects.all()}
    assert by_urgency["high"].next_attempt_at <= now
    assert by_urgency["low"].next_attempt_at > now + dt.timedelta(minutes=10)


def test_unconfigured_sms_is_recorded_as_skipped(channel_settings, org_a):
    channel_settings.TWILIO_ACCOUNT_SID = ""
    person = member(org_a, "sms-only@example.com", reachable=False)
    person.contact_methods.create(method_type="sms", value="+14155550123")
    svc = service(org_a, policy(org_a, [[person]]))
    incident = lifecycle.open_incident(svc, "Down").incident
    assert send_all(run_engine()) == ["skipped"]
    row = NotificationHistory.objects.get()
    assert row.status == "skipped" and "not configured" in row.error
    assert incident.updates.filter(update_type="notification", message__contains="skipped")


def test_transient_failure_is_retried_with_backoff_permanent_is_not(smtp, org_a, ana):  # noqa: F811
    smtp.rcpt_reply["ana@example.com"] = "451 Try again later"
    svc = service(org_a, policy(org_a, [[ana]]))
    lifecycle.open_incident(svc, "Down")
    assert send_all(run_engine()) == ["queued"]
    row = NotificationHistory.objects.get()
    assert row.attempts == 1 and row.status == "queued"
    assert row.next_attempt_at > timezone.now() + dt.timedelta(seconds=20)
    assert delivery.send(str(row.pk)) is None  # not due yet: nothing sent
    smtp.rcpt_reply["ana@example.com"] = "550 No such user"
    NotificationHistory.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    assert delivery.send(str(row.pk)) == "failed"
    row.refresh_from_db()
    assert row.attempts == 2 and "550" in row.error
    assert delivery.send(str(row.pk)) is None


def test_a_row_is_sent_once_however_often_its_task_runs(smtp, org_a, ana):  # noqa: F811
    svc = service(org_a, policy(org_a, [[ana]]))
    lifecycle.open_incident(svc, "Down")
    (row_id,) = run_engine()
    assert delivery.send(row_id) == "sent"
    assert delivery.send(row_id) is None
    assert len(smtp.messages) == 1


def test_abandoned_claims_sms_fails_visibly_email_retries(org_a, ana):
    svc = service(org_a, policy(org_a, [[ana]]))
    incident = lifecycle.open_incident(svc, "Down").incident
    stale = timezone.now() - dt.timedelta(minutes=10)
    for channel in ("sms", "email"):
        NotificationHistory.objects.create(
            organization=org_a,
            incident=incident,
            user=ana,
            channel=channel,
            target="x",
            idempotency_key=f"k-{channel}",
            status="sending",
            claimed_at=stale,
        )
    assert delivery.reap_abandoned_claims() == 2
    rows = {row.channel: row for row in NotificationHistory.objects.all()}
    assert rows["sms"].status == "failed" and "outcome unknown" in rows["sms"].error
    assert rows["email"].status == "queued"


def test_acknowledged_before_sending_is_cancelled(smtp, incident, ana):  # noqa: F811
    due = run_engine()
    lifecycle.acknowledge(incident, ana)
    assert send_all(due) == ["cancelled"]
    assert smtp.messages == []


def _signed(client, path, data):
    url = "https://alert24.example.com" + path
    signature = RequestValidator(TOKEN).compute_signature(url, data)
    return client.post(path, data, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.fixture
def sms_page(twilio, org_a):  # noqa: F811
    person = member(org_a, "sms@example.com", reachable=False)
    person.contact_methods.create(method_type="sms", value="+14155550123")
    svc = service(org_a, policy(org_a, [[person]]))
    incident = lifecycle.open_incident(svc, "Payments failing").incident
    assert send_all(run_engine()) == ["sent"]
    assert len(twilio.requests) == 1
    return incident, person


def test_sms_reply_acknowledges(client, sms_page):
    incident, person = sms_page
    response = _signed(client, "/webhooks/twilio/sms/", {"From": "+14155550123", "Body": "4"})
    assert response.status_code == 200
    assert b"acknowledged" in response.content and b"Payments failing" in response.content
    incident.refresh_from_db()
    assert incident.status == "acknowledged" and incident.acknowledged_by == person


def test_sms_reply_with_bad_signature_or_unknown_number(client, sms_page):
    incident, _ = sms_page
    forged = client.post(
        "/webhooks/twilio/sms/",
        {"From": "+14155550123", "Body": "6"},
        HTTP_X_TWILIO_SIGNATURE="bm90IGEgc2lnbmF0dXJl",
    )
    assert forged.status_code == 403
    unknown = _signed(client, "/webhooks/twilio/sms/", {"From": "+14155559999", "Body": "6"})
    assert unknown.status_code == 200 and b"no open incident" in unknown.content
    assert Incident.objects.get(pk=incident.pk).status == "triggered"


def test_phone_digit_resolves(client, twilio, org_a):  # noqa: F811
    person = member(org_a, "voice@example.com", reachable=False)
    person.contact_methods.create(method_type="voice", value="+14155550124")
    svc = service(org_a, policy(org_a, [[person]]))
    incident = lifecycle.open_incident(svc, "Disk full").incident
    assert send_all(run_engine()) == ["sent"]
    path = f"/webhooks/twilio/voice/gather/?incident={incident.pk}"
    response = _signed(client, path, {"To": "+14155550124", "From": FROM, "Digits": "6"})
    assert response.status_code == 200 and b"<Say" in response.content
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_by == person
    assert SID  # the fake Twilio checked the SDK's account path
