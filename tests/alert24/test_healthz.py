import pytest


@pytest.mark.django_db
def test_healthz_ok_when_database_and_redis_are_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_503_when_redis_is_unreachable(client, settings, tmp_path):
    settings.REDIS_URL = f"unix://{tmp_path}/nothing-listens-here.sock"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["redis"].startswith("down")


def test_healthz_503_when_database_is_unreachable(client, settings):
    from django.db import connections

    connection = connections["default"]
    saved = connection.settings_dict.copy()
    connection.close()
    connection.settings_dict.update(HOST="/nonexistent-socket-dir", PORT="5432")
    try:
        response = client.get("/healthz", HTTP_HOST="10.0.0.1")  # any host: probes use IPs
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert response.json()["database"].startswith("down")
