import pytest
from twilio.request_validator import RequestValidator

from incidents.channels.inbound import parse_sms_reply, verify_twilio_signature

URL = "https://alert24.example.com/webhooks/twilio/sms/"
PARAMS = {"From": "+15551234567", "To": "+15005550006", "Body": "4", "MessageSid": "SM123"}


@pytest.fixture
def token(settings):
    settings.TWILIO_AUTH_TOKEN = "inbound-test-token"
    return settings.TWILIO_AUTH_TOKEN


def test_accepts_the_sdk_signature(token):
    signature = RequestValidator(token).compute_signature(URL, PARAMS)
    assert verify_twilio_signature(URL, PARAMS, signature)


def test_accepts_a_querydict(token):
    from django.http import QueryDict

    form = QueryDict("From=%2B15551234567&To=%2B15005550006&Body=4&MessageSid=SM123")
    signature = RequestValidator(token).compute_signature(URL, PARAMS)
    assert verify_twilio_signature(URL, form, signature)


def test_rejects_tampering(token):
    signature = RequestValidator(token).compute_signature(URL, PARAMS)
    assert not verify_twilio_signature(URL, {**PARAMS, "Body": "6"}, signature)
    assert not verify_twilio_signature(URL + "?x=1", PARAMS, signature)
    assert not verify_twilio_signature(URL, PARAMS, signature[:-2] + "AA")
    assert not verify_twilio_signature(URL, PARAMS, "")
    other = RequestValidator("another-token").compute_signature(URL, PARAMS)
    assert not verify_twilio_signature(URL, PARAMS, other)


def test_nothing_verifies_without_a_token(settings):
    settings.TWILIO_AUTH_TOKEN = ""
    signature = RequestValidator("").compute_signature(URL, PARAMS)
    assert not verify_twilio_signature(URL, PARAMS, signature)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("4", ("acknowledge", None)),
        (" 4 ", ("acknowledge", None)),
        ("4 ack", ("acknowledge", None)),
        ("ack", ("acknowledge", None)),
        ("ACK", ("acknowledge", None)),
        ("Acknowledge.", ("acknowledge", None)),
        ("ack 123", ("acknowledge", "123")),
        ("4 ack #a1b2c3", ("acknowledge", "a1b2c3")),
        ("6", ("resolve", None)),
        ("6 resolve", ("resolve", None)),
        ("resolve 123", ("resolve", "123")),
        ("Resolved!", ("resolve", None)),
        (
            "6 7f3c2a10-9b1e-4c55-8d6a-0a1b2c3d4e5f",
            ("resolve", "7f3c2a10-9b1e-4c55-8d6a-0a1b2c3d4e5f"),
        ),
        ("", None),
        ("   ", None),
        ("5", None),
        ("STOP", None),
        ("HELP", None),
        ("4 resolve", None),
        ("ack please now", None),
        ("resolve <script>", None),
        ("hello 4", None),
        ("44", None),
    ],
)
def test_parse_sms_reply(body, expected):
    assert parse_sms_reply(body) == expected
