"""Pages through real Celery workers: fast, and a worker killed mid-send loses nothing and
sends nothing twice."""

import datetime as dt
import signal
import subprocess
import threading
import time
import uuid
from urllib.parse import parse_qs

import pytest
from django.utils import timezone

from accounts.models import TeamGroup
from incidents import engine, lifecycle
from incidents.models import IncidentNotification, NotificationHistory
from tests.channels.servers import RecordingServer, Reply
from tests.channels.test_twilio import FROM, SID, TOKEN, FakeTwilio
from tests.child_processes import start_worker, stop_worker
from tests.incidents.factories import member, policy, service

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class HoldingTwilio(FakeTwilio):
    """Answers like Twilio, but holds the first ``hold`` requests until released."""

    def __init__(self, hold: int) -> None:
        self.hold = hold
        self.arrived = threading.Semaphore(0)
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.seen = 0

    def __call__(self, request) -> Reply:
        with self.lock:
            self.seen += 1
            held = self.seen > 3 and self.hold > 0
            if held:
                self.hold -= 1
        if held:
            self.arrived.release()
            self.release.wait(30)
        return super().__call__(request)


def start(queue: str, provider_url: str, concurrency: int = 2) -> subprocess.Popen:
    return start_worker(
        [queue],
        concurrency=concurrency,
        env={
            "NOTIFICATIONS_QUEUE": queue,
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM_NUMBER": FROM,
            "TWILIO_API_BASE_URL": provider_url,
            "SITE_URL": "https://alert24.example.com",
        },
    )


@pytest.fixture
def queue(settings):
    settings.NOTIFICATIONS_QUEUE = f"test-notify-{uuid.uuid4().hex[:8]}"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, TOKEN
    return settings.NOTIFICATIONS_QUEUE


def sms_team(org, size: int) -> TeamGroup:
    team = TeamGroup.objects.create(organization=org, name="Everyone")
    for n in range(size):
        person = member(org, f"p{n}@example.com", reachable=False)
        person.contact_methods.create(method_type="sms", value=f"+1415555{n:04d}")
        team.memberships.create(organization=org, user=person)
    return team


def sms_numbers(server: RecordingServer) -> list[str]:
    return [parse_qs(r.body.decode())["To"][0] for r in server.requests]


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_pages_reach_the_provider_within_a_second(queue, org_a):
    with RecordingServer(FakeTwilio()) as provider:
        worker = start(queue, provider.url)
        try:
            team = sms_team(org_a, 3)
            svc = service(org_a, policy(org_a, [[team]]))
            time.sleep(3)  # let the worker come up before the clock starts
            lifecycle.open_incident(svc, "Payments failing")
            engine.sweep()
            wait_for(lambda: len(provider.requests) == 3, 30)
            rows = NotificationHistory.objects.all()
            wait_for(lambda: all(r.status == "sent" for r in rows.all()), 10)
            latencies = [(r.sent_at - r.created_at).total_seconds() for r in rows.all()]
            assert max(latencies) < 1.0, latencies
        finally:
            stop_worker(worker)


def test_killed_worker_mid_send_no_duplicate_no_loss(queue, org_a):
    size = 30
    twilio = HoldingTwilio(hold=2)
    with RecordingServer(twilio) as provider:
        worker = start(queue, provider.url, concurrency=2)
        try:
            svc = service(org_a, policy(org_a, [[sms_team(org_a, size)]]))
            lifecycle.open_incident(svc, "Payments failing")
            engine.sweep()
            # Both worker processes are now inside a provider call that Twilio received.
            assert twilio.arrived.acquire(timeout=60) and twilio.arrived.acquire(timeout=60)
            stop_worker(worker, signal.SIGKILL)
        finally:
            twilio.release.set()
            stop_worker(worker)

        # Time passes: hand-offs and claims of the dead worker go stale.
        past = timezone.now() - dt.timedelta(minutes=10)
        IncidentNotification.objects.filter(status="dispatched").update(dispatched_at=past)
        NotificationHistory.objects.filter(status="sending").update(claimed_at=past)
        NotificationHistory.objects.filter(status="queued").update(enqueued_at=past)

        survivor = start(queue, provider.url)
        try:

            def settled() -> bool:
                engine.sweep()
                return (
                    NotificationHistory.objects.count() == size
                    and not NotificationHistory.objects.filter(
                        status__in=["queued", "sending"]
                    ).exists()
                )

            wait_for(settled, 90)
        finally:
            stop_worker(survivor)

    numbers = sms_numbers(provider)
    assert sorted(set(numbers)) == sorted(numbers), "an SMS was sent twice"
    assert len(numbers) == size, "an SMS was lost"
    statuses = sorted(NotificationHistory.objects.values_list("status", flat=True))
    assert statuses.count("sent") == size - 2
    unknown = NotificationHistory.objects.filter(status="failed")
    assert unknown.count() == 2
    assert all("outcome unknown" in row.error for row in unknown)
