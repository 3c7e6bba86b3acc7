"""The demo organization gets a monitor of each type aimed at the running app."""

from __future__ import annotations

from django.core.management import call_command
from django.test import override_settings
from django_celery_beat.models import PeriodicTask

from monitoring import demo
from monitoring.models import MonitoringCheck


def test_demo_monitors_are_created_once_all_active(db, monkeypatch):
    monkeypatch.setenv("DEMO_HTTPS_PORT", "9443")
    monkeypatch.setenv("DEMO_DNS_PORT", "9053")
    call_command("load_demo", verbosity=0)
    call_command("load_demo", verbosity=0)
    checks = MonitoringCheck.objects.filter(organization__slug="demo")
    assert sorted(checks.values_list("check_type", flat=True)) == [
        "dns", "heartbeat", "http", "keyword", "ping", "ssl", "tcp",
    ]  # fmt: skip
    assert not checks.filter(is_paused=True).exists()  # every type live, offline included
    assert all(c.service and c.service.name == demo.DEMO_SERVICE for c in checks)
    http = checks.get(check_type="keyword")
    assert http.config["url"].endswith("/healthz")
    assert http.locations.count() == 3
    assert checks.get(check_type="ssl").config == {
        "host": "127.0.0.1", "port": 9443, "server_name": "status.alert24.test",
    }  # fmt: skip
    assert checks.get(check_type="http").config["url"] == "https://127.0.0.1:9443/status/demo/"
    dns = checks.get(check_type="dns")
    assert (dns.config["resolver_ip"], dns.config["resolver_port"]) == ("127.0.0.1", 9053)
    assert checks.get(check_type="heartbeat").locations.count() == 0
    assert PeriodicTask.objects.get(name=demo.DEMO_HEARTBEAT_TASK).task == (
        "monitoring.demo_heartbeat"
    )


def test_reloading_follows_new_ports_and_revives_the_old_paused_dns_monitor(db, monkeypatch):
    call_command("load_demo", verbosity=0)
    checks = MonitoringCheck.objects.filter(organization__slug="demo")
    # A demo loaded by an earlier version: DNS of localhost, paused for want of a resolver.
    old = checks.get(check_type="dns")
    old.name, old.config, old.is_paused = "Demo DNS localhost A", {"name": "localhost"}, True
    old.save()
    user_paused = checks.get(check_type="ping")
    user_paused.is_paused = True
    user_paused.save()
    monkeypatch.setenv("DEMO_DNS_PORT", "9153")
    monkeypatch.setenv("DEMO_HTTPS_PORT", "9543")
    with override_settings(SITE_URL="http://127.0.0.1:8123"):
        call_command("load_demo", verbosity=0)
    assert checks.count() == 7  # updated in place, nothing duplicated
    dns = checks.get(pk=old.pk)
    assert dns.name == "Demo DNS status.alert24.test A"
    assert dns.config["resolver_port"] == 9153
    assert not dns.is_paused and dns.state == "pending"
    assert checks.get(check_type="ssl").config["port"] == 9543
    assert checks.get(check_type="tcp").config["port"] == 8123
    assert checks.get(check_type="keyword").config["url"] == "http://127.0.0.1:8123/healthz"
    assert checks.get(pk=user_paused.pk).is_paused  # the user's choice stands


def test_beat_schedule_is_registered(db):
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {
        "monitoring.dispatch_checks",
        "monitoring.refresh_statistics",
        "monitoring.create_result_partitions",
        "alert24.cleanup_old_data",
    } <= names
    assert "monitoring.cleanup_results" not in names  # one retention path: cleanup_old_data
