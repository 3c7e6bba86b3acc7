"""The status-page fast path's process-local shortcuts never bypass a rule.

The Host check is remembered only for hosts that passed ``ALLOWED_HOSTS`` (and only while
that setting is the same), and the cache variant only for as long as the page lookup.
One test client keeps one middleware instance, as a gunicorn worker does.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client, override_settings

from statuspages.models import Component, StatusPage


@pytest.fixture
def page(org_a):
    page = StatusPage.objects.create(organization=org_a, name="Acme", slug="acme-fast")
    Component.objects.create(organization=org_a, status_page=page, name="API", position=0)
    return page


@pytest.fixture
def herd(settings):
    settings.STATUSPAGES_VERSION_TTL = 1.0
    return Client()


def test_a_remembered_host_does_not_let_other_hosts_in(page, herd):
    assert herd.get("/status/acme-fast/", headers={"host": "127.0.0.1"}).status_code == 200
    assert herd.get("/status/acme-fast/", headers={"host": "evil.example"}).status_code == 400
    assert herd.get("/status/acme-fast/", headers={"host": "127.0.0.1"}).status_code == 200
    with override_settings(ALLOWED_HOSTS=["status.example.com"]):
        # Accepted a moment ago, but no longer allowed: validated again, refused.
        assert herd.get("/status/acme-fast/", headers={"host": "127.0.0.1"}).status_code == 400


def test_the_variant_lives_no_longer_than_the_page_lookup(page, herd):
    first = herd.get("/status/acme-fast/api/v2/components.json")
    assert first.status_code == 200
    Component.objects.filter(status_page=page).update(name="Public API")
    time.sleep(1.2)  # the lookup (and so the variant) is reused for at most a second
    second = herd.get("/status/acme-fast/api/v2/components.json")
    assert second["ETag"] != first["ETag"]
    assert b"Public API" in second.content
