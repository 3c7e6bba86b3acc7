"""Demo monitors for the organization ``make run`` creates, aimed at the running app itself.

A newcomer sees every check type live and green within a minute, with no internet:

* HTTP keyword check of ``/healthz`` from all three locations (one local worker serves
  every location queue);
* HTTPS check of the public status page and an SSL certificate check, both on the demo
  HTTPS listener that ``serve`` runs with a certificate from its local demo CA (trusted
  through ``MONITORING_EXTRA_CA_FILE``, see ``alert24.demo_endpoints``);
* TCP check of the web port and a ping of 127.0.0.1;
* DNS check of ``status.alert24.test`` asked of the demo's own authoritative DNS server
  (its chosen resolver), not of the system resolver, which may be absent offline;
* a heartbeat fed every minute by a demo beat task through the real ``/hb/<token>``.

Loading is idempotent and keeps the monitors aimed at the current endpoints: a second
load with other ports (``serve --addr``, ``DEMO_HTTPS_PORT``, ``DEMO_DNS_PORT``) updates
their targets, and monitors of an earlier demo layout are renamed and updated in place.

These probe 127.0.0.1, which only works with ``MONITORING_ALLOW_PRIVATE_TARGETS`` (on by
default in the DEBUG set-up).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from alert24 import demo_endpoints
from incidents.models import Service
from monitoring.models import MonitoringCheck, MonitoringLocation

log = logging.getLogger(__name__)

DEMO_SERVICE = "Website"  # incidents/demo.py creates it, with the demo escalation policy
DEMO_HEARTBEAT_TASK = "Demo heartbeat"


def _site() -> tuple[str, str, int]:
    parts = urlsplit(settings.SITE_URL)
    host = parts.hostname or "127.0.0.1"
    return settings.SITE_URL, host, parts.port or (443 if parts.scheme == "https" else 80)


def demo_monitors() -> list[dict[str, Any]]:
    site, host, port = _site()
    https = demo_endpoints.https_port()
    return [
        {
            "name": "Demo app /healthz",
            "check_type": "keyword",
            "config": {"url": f"{site}/healthz", "keyword": '"status": "ok"'},
            "locations": ["us-east", "eu-west", "ap-south"],
            "require_second_location": True,
        },
        {
            "name": "Demo status page over HTTPS",
            "check_type": "http",
            "config": {"url": f"https://{host}:{https}/status/demo/"},
        },
        {
            "name": "Demo TLS certificate",
            "check_type": "ssl",
            "config": {
                "host": host,
                "port": https,
                "server_name": demo_endpoints.DEMO_DNS_NAME,
            },
        },
        {
            "name": "Demo app TCP port",
            "check_type": "tcp",
            "config": {"host": host, "port": port},
            "previous_names": [f"Demo app TCP port {port}", "Demo app TCP port 8000"],
        },
        {"name": "Demo ping 127.0.0.1", "check_type": "ping", "config": {"host": "127.0.0.1"}},
        {
            "name": f"Demo DNS {demo_endpoints.DEMO_DNS_NAME} A",
            "check_type": "dns",
            "config": {
                "name": demo_endpoints.DEMO_DNS_NAME,
                "record_type": "A",
                "expected": ["127.0.0.1"],
                "resolver_ip": "127.0.0.1",
                "resolver_port": demo_endpoints.dns_port(),
            },
            # Earlier demos asked the system resolver and were created paused offline.
            "previous_names": ["Demo DNS localhost A"],
        },
        {
            "name": "Demo heartbeat (beat task, every minute)",
            "check_type": "heartbeat",
            "config": {"period_s": 60, "grace_s": 60},
            "locations": [],
            "failure_threshold": 1,
        },
    ]


def _find(organization, name: str, previous: list[str]) -> tuple[MonitoringCheck | None, bool]:
    check = MonitoringCheck.objects.filter(organization=organization, name=name).first()
    if check is not None:
        return check, False
    old = MonitoringCheck.objects.filter(organization=organization, name__in=previous).first()
    return old, old is not None


def load_demo_monitors(organization) -> list[MonitoringCheck]:
    """Create the demo service and monitors once, keep them on target, and the demo beat task."""
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
        check, legacy = _find(organization, spec["name"], spec.pop("previous_names", []))
        if check is None:
            check = MonitoringCheck(
                organization=organization,
                service=service,
                interval_seconds=60,
                timeout_seconds=5,
                **spec,
            )
            check.full_clean()
            check.save()
            check.locations.add(*(locations[code] for code in codes if code in locations))
        elif legacy or check.config != spec["config"]:
            # Aim it at today's endpoints; a monitor the user paused stays paused, but the
            # one an earlier demo paused for want of a resolver now has one.
            log.info("demo monitor %s now checks %s", check.name, spec["config"])
            check.name, check.config = spec["name"], spec["config"]
            if legacy and check.check_type == "dns":
                check.is_paused = False
            check.full_clean()
            check.save()
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
