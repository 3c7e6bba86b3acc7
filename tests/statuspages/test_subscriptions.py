"""Subscribers: double opt-in, no enumeration, rate limit, signed unsubscribe, notifications."""

import re

import pytest
from django.core import mail
from django.utils import timezone

from statuspages import services, subscriptions
from statuspages.models import Subscriber, SubscriberComponent, SubscriberNotification


def post(client, setup, **data):
    data.setdefault("channel", "email")
    return client.post(f"/status/{setup.page.slug}/subscribe/", data)


def test_email_double_opt_in(client, setup_a):
    response = post(client, setup_a, target="Reader@Example.com")
    assert response.status_code == 200
    assert "we have sent it a link to confirm" in response.content.decode()
    subscriber = Subscriber.objects.get(status_page=setup_a.page)
    assert subscriber.target == "reader@example.com"
    assert subscriber.confirmed_at is None  # nothing is sent before confirmation

    subscriptions.send_confirmation(str(subscriber.pk))  # what the Celery task runs
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["reader@example.com"]
    link = re.search(r"http://\S+/subscribe/confirm/(\S+)/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    confirmed = client.get(f"/status/{setup_a.page.slug}/subscribe/confirm/{link.group(1)}/")
    assert confirmed.status_code == 200 and "confirmed" in confirmed.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is not None


def test_existing_address_answers_like_a_new_one(client, setup_a):
    first = post(client, setup_a, target="same@example.com")
    Subscriber.objects.update(confirmed_at=timezone.now())
    second = post(client, setup_a, target="SAME@example.com")
    assert second.status_code == first.status_code == 200
    assert second.content == first.content
    assert Subscriber.objects.filter(status_page=setup_a.page).count() == 1


def test_invalid_addresses_are_clear_errors_and_write_nothing(client, setup_a):
    for channel, target in [
        ("email", "not-an-address"),
        ("sms", "0123"),
        ("webhook", "ftp://example.com/hook"),
        ("carrier-pigeon", "coo"),
    ]:
        response = post(client, setup_a, channel=channel, target=target)
        assert response.status_code == 400, (channel, target)
        assert 'role="alert"' in response.content.decode()
    assert not Subscriber.objects.exists()


def test_component_subscription_and_webhook_is_active_at_once(client, setup_a):
    response = post(
        client, setup_a, channel="webhook", target="https://hooks.example.com/status",
        components=[str(setup_a.db.pk)],
    )  # fmt: skip
    assert response.status_code == 200
    subscriber = Subscriber.objects.get()
    assert subscriber.is_active
    assert list(SubscriberComponent.objects.values_list("component_id", flat=True)) == [
        setup_a.db.pk
    ]


def test_component_of_another_page_is_refused(client, setup_a, setup_b):
    response = post(client, setup_a, target="x@example.com", components=[str(setup_b.db.pk)])
    assert response.status_code == 400
    assert not Subscriber.objects.exists()


def test_subscribe_form_is_rate_limited(client, setup_a):
    codes = [post(client, setup_a, target=f"r{i}@example.com").status_code for i in range(7)]
    assert codes[:5] == [200] * 5
    assert codes[5:] == [429, 429]
    assert Subscriber.objects.count() == 5
    # Another client address is not affected.
    other = client.post(
        f"/status/{setup_a.page.slug}/subscribe/",
        {"channel": "email", "target": "z@example.com"},
        REMOTE_ADDR="192.0.2.7",
    )
    assert other.status_code == 200


def test_unsubscribe_one_click_and_forged_tokens(client, setup_a, setup_b):
    subscriber = Subscriber.objects.create(
        organization=setup_a.organization, status_page=setup_a.page, channel="email",
        target="bye@example.com", confirmed_at=timezone.now(),
    )  # fmt: skip
    token = subscriptions.unsubscribe_token(subscriber)
    url = f"/status/{setup_a.page.slug}/unsubscribe/{token}/"
    page = client.get(url)
    assert page.status_code == 200 and '<form method="post"' in page.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is None  # a link scanner's GET changes nothing
    done = client.post(url)
    assert done.status_code == 200 and "no longer" in done.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None
    assert client.post(url).status_code == 200  # idempotent

    forged = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
    for bad in [forged, "garbage", subscriptions.confirmation_token(subscriber)]:
        response = client.post(f"/status/{setup_a.page.slug}/unsubscribe/{bad}/")
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    # A genuine token of page A does nothing on page B.
    assert client.get(f"/status/{setup_b.page.slug}/unsubscribe/{token}/").status_code == 400


def test_forged_confirmation_token(client, setup_a):
    response = client.get(f"/status/{setup_a.page.slug}/subscribe/confirm/forged:token/")
    assert response.status_code == 400 and "not valid" in response.content.decode()


def test_resubscribing_after_unsubscribe_needs_confirmation_again(setup_a):
    result = subscriptions.subscribe(setup_a.page, "email", "again@example.com")
    subscriptions.confirm(setup_a.page, subscriptions.confirmation_token(result.subscriber))
    subscriptions.unsubscribe(setup_a.page, subscriptions.unsubscribe_token(result.subscriber))
    again = subscriptions.subscribe(setup_a.page, "email", "again@example.com")
    assert not again.created and again.confirmation_needed
    again.subscriber.refresh_from_db()
    assert again.subscriber.confirmed_at is None and again.subscriber.unsubscribed_at is None


@pytest.fixture
def audience(setup_a):
    def make(target, confirmed=True, unsubscribed=False, components=()):
        subscriber = Subscriber.objects.create(
            organization=setup_a.organization, status_page=setup_a.page, channel="email",
            target=target, confirmed_at=timezone.now() if confirmed else None,
            unsubscribed_at=timezone.now() if unsubscribed else None,
        )  # fmt: skip
        for component in components:
            SubscriberComponent.objects.create(
                organization=setup_a.organization, subscriber=subscriber, component=component
            )
        return subscriber

    return {
        "all": make("all@example.com"),
        "api": make("api@example.com", components=[setup_a.api]),
        "db": make("db@example.com", components=[setup_a.db]),
        "unconfirmed": make("new@example.com", confirmed=False),
        "gone": make("gone@example.com", unsubscribed=True),
    }


def test_every_update_queues_notifications_for_the_right_subscribers(setup_a, audience):
    published = services.publish_incident(
        None, setup_a.page, name="API down", message="Investigating", components=[setup_a.api]
    )
    first = set(SubscriberNotification.objects.values_list("subscriber__target", flat=True))
    assert first == {"all@example.com", "api@example.com"}
    services.post_update(published, status="resolved", message="Fixed")
    assert SubscriberNotification.objects.count() == 4
    services.post_update(
        published, status="postmortem", message="quiet", deliver_notifications=False
    )
    assert SubscriberNotification.objects.count() == 4

    counts = subscriptions.deliver_pending()
    assert counts == {"sent": 4}
    assert SubscriberNotification.objects.filter(status="sent", sent_at__isnull=False).count() == 4
    assert len(mail.outbox) == 4
    body = mail.outbox[0].body
    assert "API down" in mail.outbox[0].subject
    assert "/unsubscribe/" in body
    assert subscriptions.deliver_pending() == {}  # nothing twice


def test_unsubscribing_drops_queued_notifications(setup_a, audience):
    services.publish_incident(None, setup_a.page, name="X", message="m")
    token = subscriptions.unsubscribe_token(audience["all"])
    subscriptions.unsubscribe(setup_a.page, token)
    subscriptions.deliver_pending()
    statuses = dict(SubscriberNotification.objects.values_list("subscriber__target", "status"))
    assert statuses["all@example.com"] == "skipped"
    assert statuses["api@example.com"] == "sent"


def test_sms_without_provider_is_recorded_as_skipped(setup_a):
    Subscriber.objects.create(
        organization=setup_a.organization, status_page=setup_a.page, channel="sms",
        target="+14155550123", confirmed_at=timezone.now(),
    )  # fmt: skip
    services.publish_incident(None, setup_a.page, name="X", message="m")
    assert subscriptions.deliver_pending() == {"skipped": 1}
