"""Page delivery latency: 1,000 notifications through the e-mail channel and a real worker.

Pages are queued at a steady rate (like escalations arriving), handed to a real Celery
worker on the notifications queue, expanded by the person's rules and e-mailed to a local
SMTP server (aiosmtpd). Latency is measured in the database, from the page being queued to
the provider accepting the message. Goal (issue 4): p99 at most 1,000 ms.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

from common import ROOT, figure, private_django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notifications", type=int, default=1000)
    parser.add_argument(
        "--rate", type=float, default=20.0, help="pages queued per second (100 saturates 2 cores)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="worker processes")
    args = parser.parse_args()

    private_django()
    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django.db import connection

    from accounts.models import Organization, OrganizationMember, User, UserContactMethod
    from incidents import engine
    from incidents.models import Incident, IncidentNotification, NotificationHistory, Service

    class Inbox:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Inbox.count += 1
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=port)
    smtp.start()

    organization = Organization.objects.create(name="Bench", slug="bench")
    service = Service.objects.create(organization=organization, name="Bench")
    people = []
    for n in range(args.notifications):
        user = User(email=f"r{n}@example.com")
        people.append(user)
    User.objects.bulk_create(people)
    people = list(User.objects.filter(email__startswith="r").order_by("email"))
    OrganizationMember.objects.bulk_create(
        OrganizationMember(organization=organization, user=user) for user in people
    )
    UserContactMethod.objects.bulk_create(
        UserContactMethod(user=user, method_type="email", value=user.email) for user in people
    )
    incident = Incident.objects.create(organization=organization, service=service, title="Bench")

    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@/{db['NAME']}?host={db['HOST']}",
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    worker_log = open(os.environ.get("BENCH_WORKER_LOG", os.devnull), "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "alert24", "worker",
         "-Q", settings.NOTIFICATIONS_QUEUE, "--concurrency", str(args.concurrency),
         *os.environ.get("BENCH_POOL", "").split(),
         "--loglevel", os.environ.get("BENCH_WORKER_LEVEL", "WARNING"),
         "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=worker_log,
    )  # fmt: skip
    try:
        time.sleep(5)  # worker start-up is not part of delivery latency
        batch = max(1, int(args.rate / 10))
        started = time.monotonic()
        for offset in range(0, len(people), batch):
            IncidentNotification.objects.bulk_create(
                IncidentNotification(
                    organization=organization, incident=incident, user=user, escalation_level=0
                )
                for user in people[offset : offset + batch]
            )
            engine.dispatch()
            target = started + (offset + batch) / args.rate
            time.sleep(max(0.0, target - time.monotonic()))
        deadline = time.monotonic() + 240
        while NotificationHistory.objects.filter(status="sent").count() < args.notifications:
            if time.monotonic() > deadline:
                break
            time.sleep(0.25)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
        worker_log.close()
        smtp.stop()

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY ms),
                   count(*), extract(epoch FROM max(sent_at) - min(queued_at))
            FROM (SELECT h.sent_at, p.created_at AS queued_at,
                         extract(epoch FROM h.sent_at - p.created_at) * 1000 AS ms
                  FROM notification_history h JOIN incident_notifications p ON p.id = h.page_id
                  WHERE h.status = 'sent') t
            """
        )
        p50, p99, sent, span = cursor.fetchone()
    print(f"sent {sent} of {args.notifications}; SMTP server received {Inbox.count}")
    figure("notifications_sent", str(sent))
    figure("p50_queue_to_sent_ms", float(p50 or 0), "ms")
    figure("p99_queue_to_sent_ms", float(p99 or 0), "ms")
    figure("notifications_per_second", float(sent / span) if span else 0.0, "notifications/s")


if __name__ == "__main__":
    main()
