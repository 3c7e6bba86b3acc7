"""SMS and voice through the official Twilio SDK against a local server speaking Twilio's API."""

import base64
import re
import time
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs

import pytest

from incidents.channels import get_channel
from incidents.channels.twiml import action_for_digit, confirmation_response

from .servers import HangingServer, RecordingServer, Reply

SID = "AC" + "0" * 31 + "1"
TOKEN = "test-auth-token"
FROM = "+15005550006"
BAD_NUMBER = "+15005550001"  # the fake answers 400 like Twilio for an invalid 'To'
BROKEN = "+15005550009"  # the fake answers 500


class FakeTwilio:
    """Answers like api.twilio.com and checks what the SDK sends."""

    path = re.compile(rf"^/2010-04-01/Accounts/{SID}/(Messages|Calls)\.json$")

    def __call__(self, request) -> Reply:
        match = self.path.match(request.path)
        if request.method != "POST" or not match:
            return self.error(404, 20404, "The requested resource was not found")
        auth = request.headers.get("authorization", "")
        if auth != "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode():
            return self.error(401, 20003, "Authenticate")
        assert request.headers["user-agent"].startswith("twilio-python/")
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        kind = match.group(1)
        required = ("To", "From", "Body") if kind == "Messages" else ("To", "From", "Twiml")
        missing = [name for name in required if not form.get(name)]
        if missing:
            return self.error(400, 21604, f"A '{missing[0]}' parameter is required.")
        if form["To"] == BAD_NUMBER:
            return self.error(400, 21211, f"The 'To' number {form['To']} is not valid.")
        if form["To"] == BROKEN:
            return self.error(500, 20500, "Internal Server Error")
        sid = ("SM" if kind == "Messages" else "CA") + uuid.uuid4().hex
        return Reply(
            201,
            {
                "sid": sid,
                "account_sid": SID,
                "to": form["To"],
                "from": form["From"],
                "status": "queued",
                "body": form.get("Body"),
                "uri": f"/2010-04-01/Accounts/{SID}/{kind}/{sid}.json",
            },
        )

    @staticmethod
    def error(status: int, code: int, message: str) -> Reply:
        return Reply(
            status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )


@pytest.fixture
def twilio(channel_settings):
    with RecordingServer(FakeTwilio()) as server:
        channel_settings.TWILIO_ACCOUNT_SID = SID
        channel_settings.TWILIO_AUTH_TOKEN = TOKEN
        channel_settings.TWILIO_FROM_NUMBER = FROM
        channel_settings.TWILIO_API_BASE_URL = server.url
        yield server


def form_of(request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}


def test_sms_sent_with_summary_and_reply_hint(twilio, message):
    result = get_channel("sms").send("+15551234567", message)

    assert result.status == "sent", result
    assert result.provider_id.startswith("SM")
    (request,) = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    form = form_of(request)
    assert form["To"] == "+15551234567" and form["From"] == FROM
    body = form["Body"]
    assert body.startswith("[Alert24] TRIGGERED critical: Checkout API down (Checkout)")
    assert message.incident_url in body
    assert body.endswith("Reply 4 to ack, 6 to resolve")


def test_long_title_is_shortened_not_the_hint(twilio, message):
    import dataclasses

    long = dataclasses.replace(message, title="x" * 2000)
    assert get_channel("sms").send("+15551234567", long).status == "sent"
    body = form_of(twilio.requests[0])["Body"]
    assert len(body) <= 306 and body.endswith("Reply 4 to ack, 6 to resolve")


def test_voice_call_with_gather_twiml(twilio, message):
    result = get_channel("voice").send("+15551234567", message)

    assert result.status == "sent", result
    assert result.provider_id.startswith("CA")
    (request,) = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{SID}/Calls.json"
    form = form_of(request)
    assert form["To"] == "+15551234567" and form["From"] == FROM
    root = ET.fromstring(form["Twiml"])
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action") == (
        f"https://alert24.example.com/webhooks/twilio/voice/gather/?incident={message.incident_id}"
    )
    said = gather.find("Say").text
    assert "Checkout API down" in said
    assert "Press 4 to acknowledge, 6 to resolve" in said


def test_voice_twiml_escapes_the_title(twilio, message):
    import dataclasses

    evil = dataclasses.replace(message, title='</Say><Dial>+19005550000</Dial><Say a="')
    assert get_channel("voice").send("+15551234567", evil).status == "sent"
    root = ET.fromstring(form_of(twilio.requests[0])["Twiml"])
    assert root.find(".//Dial") is None
    assert "<Dial>" in root.find("Gather/Say").text


@pytest.mark.parametrize("kind", ["sms", "voice"])
def test_twilio_400_is_permanent_and_500_retryable(twilio, message, kind):
    bad = get_channel(kind).send(BAD_NUMBER, message)
    assert (bad.status, bad.retryable) == ("failed", False)
    assert "21211" in bad.error and "400" in bad.error

    broken = get_channel(kind).send(BROKEN, message)
    assert (broken.status, broken.retryable) == ("failed", True)
    assert "500" in broken.error


def test_wrong_credentials_are_permanent(twilio, message, channel_settings):
    channel_settings.TWILIO_AUTH_TOKEN = "wrong"
    result = get_channel("sms").send("+15551234567", message)
    assert (result.status, result.retryable) == ("failed", False)
    assert "401" in result.error


def test_not_an_e164_number_fails_without_calling(twilio, message):
    result = get_channel("sms").send("555-1234", message)
    assert (result.status, result.retryable) == ("failed", False)
    assert twilio.requests == []


@pytest.mark.parametrize(
    "missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"]
)
@pytest.mark.parametrize("kind", ["sms", "voice"])
def test_unconfigured_twilio_is_skipped(twilio, message, channel_settings, missing, kind):
    setattr(channel_settings, missing, "")
    result = get_channel(kind).send("+15551234567", message)
    assert result.status == "skipped"
    assert result.skipped_reason == "Twilio is not configured"
    assert twilio.requests == []


def test_hanging_twilio_times_out_retryable(channel_settings, message):
    channel_settings.TWILIO_ACCOUNT_SID = SID
    channel_settings.TWILIO_AUTH_TOKEN = TOKEN
    channel_settings.TWILIO_FROM_NUMBER = FROM
    channel_settings.NOTIFICATION_HTTP_TIMEOUT = 1.0
    with HangingServer() as hanging:
        channel_settings.TWILIO_API_BASE_URL = hanging.url
        started = time.monotonic()
        result = get_channel("sms").send("+15551234567", message)
        elapsed = time.monotonic() - started
    assert (result.status, result.retryable) == ("failed", True)
    assert "timed out" in result.error
    assert elapsed < 3


def test_digits_and_confirmation():
    assert action_for_digit("4") == "acknowledge"
    assert action_for_digit("6") == "resolve"
    assert action_for_digit(" 6 ") == "resolve"
    for other in ("", None, "1", "44", "*", "#"):
        assert action_for_digit(other) is None
    assert "acknowledged" in str(confirmation_response("acknowledge"))
    assert "resolved" in str(confirmation_response("resolve"))
    assert "Press 4" in str(confirmation_response(None))
