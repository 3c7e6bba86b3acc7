"""The demo organization gets a monitor of each type aimed at the running app."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from monitoring import demo
from monitoring.models import MonitoringCheck


@pytest.fixture
def offline_resolver(monkeypatch):
    monkeypatch.setattr(demo, "_resolver_answers_localhost", lambda: False)


def test_demo_monitors_are_created_once(db, offline_resolver):
    call_command("load_demo", verbosity=0)
    call_command("load_demo", verbosity=0)
    checks = MonitoringCheck.objects.filter(organization__slug="demo")
    assert sorted(checks.values_list("check_type", flat=True)) == [
        "dns", "heartbeat", "keyword", "ping", "tcp",
    ]  # fmt: skip
    assert all(c.service and c.service.name == demo.DEMO_SERVICE for c in checks)
    http = checks.get(check_type="keyword")
    assert http.config["url"].endswith("/healthz")
    assert http.locations.count() == 3
    dns = checks.get(check_type="dns")
    assert dns.is_paused and dns.state == "paused"  # no resolver answered: no false incident
    assert checks.get(check_type="heartbeat").locations.count() == 0
    assert PeriodicTask.objects.get(name=demo.DEMO_HEARTBEAT_TASK).task == (
        "monitoring.demo_heartbeat"
    )


def test_beat_schedule_is_registered(db):
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {
        "monitoring.dispatch_checks",
        "monitoring.refresh_statistics",
        "monitoring.create_result_partitions",
        "alert24.cleanup_old_data",
    } <= names
    assert "monitoring.cleanup_results" not in names  # one retention path: cleanup_old_data
