"""Demo monitors for the organization ``make run`` creates, aimed at the running app itself.

A newcomer sees live results within a minute: an HTTP keyword check of ``/healthz`` from
all three locations (one local worker serves every location queue), a TCP check of port
8000, a ping of 127.0.0.1, a heartbeat fed every minute by a demo beat task through the
real ``/hb/<token>`` endpoint, and a DNS check of ``localhost`` — created paused when the
system resolver cannot answer it (offline machines, resolvers that do not serve
``localhost``), so the demo does not open an incident about the sandbox. There is no SSL
monitor: the development server has no TLS endpoint to look at.

These probe 127.0.0.1, which only works with ``MONITORING_ALLOW_PRIVATE_TARGETS`` (on by
default in the DEBUG set-up).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from incidents.models import Service
from monitoring.models import MonitoringCheck, MonitoringLocation

log = logging.getLogger(__name__)

DEMO_SERVICE = "Website"  # incidents/demo.py creates it, with the demo escalation policy
DEMO_HEARTBEAT_TASK = "Demo heartbeat"
DNS_PROBE_TIMEOUT_S = 2.0


def _site() -> tuple[str, str, int]:
    parts = urlsplit(settings.SITE_URL)
    host = parts.hostname or "127.0.0.1"
    return settings.SITE_URL, host, parts.port or (443 if parts.scheme == "https" else 80)


def _resolver_answers_localhost() -> bool:
    from monitoring.checks import run_check_sync

    result = run_check_sync(
        "dns",
        {"name": "localhost", "record_type": "A", "timeout_s": DNS_PROBE_TIMEOUT_S},
        allow_private=True,
    )
    return result.status == "up"


def demo_monitors() -> list[dict[str, Any]]:
    site, host, port = _site()
    return [
        {
            "name": "Demo app /healthz",
            "check_type": "keyword",
            "config": {"url": f"{site}/healthz", "keyword": '"status": "ok"'},
            "locations": ["us-east", "eu-west", "ap-south"],
            "require_second_location": True,
        },
        {
            "name": f"Demo app TCP port {port}",
            "check_type": "tcp",
            "config": {"host": host, "port": port},
        },
        {"name": "Demo ping 127.0.0.1", "check_type": "ping", "config": {"host": "127.0.0.1"}},
        {
            "name": "Demo DNS localhost A",
            "check_type": "dns",
            "config": {"name": "localhost", "record_type": "A", "expected": ["127.0.0.1"]},
            "probe": _resolver_answers_localhost,
        },
        {
            "name": "Demo heartbeat (beat task, every minute)",
            "check_type": "heartbeat",
            "config": {"period_s": 60, "grace_s": 60},
            "locations": [],
            "failure_threshold": 1,
        },
    ]


def load_demo_monitors(organization) -> list[MonitoringCheck]:
    """Create the demo service and monitors once (idempotent), and the demo beat task."""
    service, _ = Service.objects.get_or_create(
        organization=organization,
        name=DEMO_SERVICE,
        defaults={"description": "The running Alert24 itself, watched by the demo monitors."},
    )
    locations = {loc.code: loc for loc in MonitoringLocation.objects.all()}
    checks = []
    for spec in demo_monitors():
        spec = dict(spec)
        codes = spec.pop("locations", ["us-east"])
        probe = spec.pop("probe", None)
        check = MonitoringCheck.objects.filter(organization=organization, name=spec["name"]).first()
        if check is None:
            paused = probe is not None and not probe()
            check = MonitoringCheck(
                organization=organization,
                service=service,
                interval_seconds=60,
                timeout_seconds=5,
                is_paused=paused,
                **spec,
            )
            check.full_clean()
            check.save()
            check.locations.add(*(locations[code] for code in codes if code in locations))
            if paused:
                log.info("%s created paused: the system resolver did not answer", check.name)
        checks.append(check)
    _register_heartbeat_task()
    return checks


def _register_heartbeat_task() -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name=DEMO_HEARTBEAT_TASK,
        defaults={
            "task": "monitoring.demo_heartbeat",
            "interval": every,
            "queue": "default",
            "expire_seconds": 50,
            "description": "Demo only: pings the demo organization's heartbeat monitors "
            "through /hb/<token>, as a cron job would.",
        },
    )


def ping_demo_heartbeats() -> int:
    """GET each demo heartbeat URL on the running web server; returns how many answered."""
    import httpx

    from alert24.demo import DEMO_SLUG

    tokens = MonitoringCheck.objects.filter(
        organization__slug=DEMO_SLUG, check_type="heartbeat", is_paused=False
    ).values_list("heartbeat_token", flat=True)
    answered = 0
    for token in tokens:
        try:
            response = httpx.get(f"{settings.SITE_URL}/hb/{token}", timeout=5)
            answered += response.status_code == 200
        except httpx.HTTPError as exc:
            # The web server being down is exactly what the heartbeat should notice.
            log.warning("demo heartbeat ping failed: %s", exc)
    return answered
