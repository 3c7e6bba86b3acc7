import time
import uuid

import pytest
from django.core import signing

from incidents.action_tokens import (
    ExpiredActionToken,
    InvalidActionToken,
    action_url,
    make_action_token,
    read_action_token,
)


def test_round_trip_returns_incident_and_user():
    incident, user = uuid.uuid4(), uuid.uuid4()
    token = make_action_token(incident, user, "acknowledge")
    assert read_action_token(token, "acknowledge") == (str(incident), str(user))


def test_token_for_acknowledge_does_not_resolve():
    token = make_action_token(uuid.uuid4(), uuid.uuid4(), "acknowledge")
    with pytest.raises(InvalidActionToken):
        read_action_token(token, "resolve")


def test_tampered_token_is_invalid_and_a_bad_signature():
    token = make_action_token(uuid.uuid4(), uuid.uuid4(), "resolve")
    payload, _, rest = token.partition(":")
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + ":" + rest
    with pytest.raises(InvalidActionToken) as caught:
        read_action_token(tampered, "resolve")
    assert isinstance(caught.value, signing.BadSignature)
    with pytest.raises(InvalidActionToken):
        read_action_token("garbage", "resolve")


def test_expired_token(monkeypatch):
    token = make_action_token(uuid.uuid4(), uuid.uuid4(), "acknowledge", ttl=60)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 61)
    with pytest.raises(ExpiredActionToken) as caught:
        read_action_token(token, "acknowledge")
    assert isinstance(caught.value, signing.SignatureExpired)
    assert isinstance(caught.value, InvalidActionToken)


def test_unknown_action_and_bad_ttl_are_programming_errors():
    with pytest.raises(ValueError):
        make_action_token(1, 2, "delete")
    with pytest.raises(ValueError):
        make_action_token(1, 2, "resolve", ttl=0)


def test_action_url_is_absolute_and_carries_a_readable_token(settings):
    settings.SITE_URL = "https://alert24.example.com"
    url = action_url("inc-1", "user-1", "resolve")
    prefix = "https://alert24.example.com/incidents/actions/"
    assert url.startswith(prefix) and url.endswith("/")
    assert read_action_token(url[len(prefix) : -1], "resolve") == ("inc-1", "user-1")
