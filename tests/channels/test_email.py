import dataclasses
import email
import email.policy
import re
import uuid

import pytest
from aiosmtpd.controller import Controller

from incidents.action_tokens import action_url, read_action_token
from incidents.channels import get_channel

from .servers import free_port


class Inbox:
    """An aiosmtpd handler keeping every accepted message; RCPT codes can be scripted."""

    def __init__(self):
        self.messages = []
        self.rcpt_reply = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rcpt_reply:
            return self.rcpt_reply[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(channel_settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    channel_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    channel_settings.EMAIL_HOST = "127.0.0.1"
    channel_settings.EMAIL_PORT = controller.port
    channel_settings.EMAIL_HOST_USER = ""
    channel_settings.EMAIL_HOST_PASSWORD = ""
    channel_settings.EMAIL_USE_TLS = False
    channel_settings.EMAIL_USE_SSL = False
    channel_settings.DEFAULT_FROM_EMAIL = "Alert24 <alerts@alert24.example.com>"
    yield inbox
    controller.stop()


def parse(envelope):
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


def parts(mail):
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    return text, html


def test_email_arrives_with_subject_parts_headers_and_working_links(smtp, message):
    user_id = str(uuid.uuid4())
    message = dataclasses.replace(
        message,
        acknowledge_url=action_url(message.incident_id, user_id, "acknowledge"),
        resolve_url=action_url(message.incident_id, user_id, "resolve"),
    )
    result = get_channel("email").send("oncall@example.com", message)

    assert result.status == "sent", result
    assert len(smtp.messages) == 1
    envelope = smtp.messages[0]
    assert envelope.rcpt_tos == ["oncall@example.com"]
    mail = parse(envelope)
    assert mail["Subject"] == "[Alert24] TRIGGERED: Checkout API down"
    assert mail["X-Alert24-Idempotency-Key"].strip() == message.idempotency_key
    assert mail["Message-ID"] == result.provider_id
    assert mail["Message-ID"].endswith("@alert24.example.com>")
    text, html = parts(mail)
    for part in (text, html):
        assert "Checkout" in part and "critical" in part
        assert message.acknowledge_url in part
        assert message.resolve_url in part
        assert message.incident_url in part

    link = re.search(r"https://alert24\.example\.com/incidents/actions/([^/\s\"]+)/", text)
    assert link, text
    assert read_action_token(link.group(1), "acknowledge") == (message.incident_id, user_id)


def test_retries_of_one_attempt_share_a_message_id(smtp, message):
    first = get_channel("email").send("oncall@example.com", message)
    second = get_channel("email").send("oncall@example.com", message)
    assert first.provider_id == second.provider_id
    assert parse(smtp.messages[0])["Message-ID"] == parse(smtp.messages[1])["Message-ID"]


def test_html_escapes_a_malicious_title(smtp, message):
    evil = dataclasses.replace(
        message,
        title='<script>alert("x")</script> & <b>bold</b>',
        summary="<img src=x onerror=alert(1)>",
        service_name="<i>svc</i>",
    )
    assert get_channel("email").send("oncall@example.com", evil).status == "sent"
    text, html = parts(parse(smtp.messages[0]))
    assert "<script>" not in html and "<img" not in html and "<i>svc" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold" in html
    assert '<script>alert("x")</script>' in text  # the text part is text, shown as is


def test_title_with_newlines_cannot_inject_headers(smtp, message):
    evil = dataclasses.replace(message, title="Down\r\nBcc: victim@example.com")
    assert get_channel("email").send("oncall@example.com", evil).status == "sent"
    mail = parse(smtp.messages[0])
    assert mail["Bcc"] is None
    assert mail["Subject"] == "[Alert24] TRIGGERED: Down Bcc: victim@example.com"
    assert smtp.messages[0].rcpt_tos == ["oncall@example.com"]


def test_refused_recipient_permanent_vs_temporary(smtp, message):
    smtp.rcpt_reply["gone@example.com"] = "550 5.1.1 No such user"
    smtp.rcpt_reply["busy@example.com"] = "451 4.3.0 Try again later"
    gone = get_channel("email").send("gone@example.com", message)
    busy = get_channel("email").send("busy@example.com", message)
    assert (gone.status, gone.retryable) == ("failed", False)
    assert "550" in gone.error
    assert (busy.status, busy.retryable) == ("failed", True)


def test_invalid_address_and_unreachable_server(channel_settings, message):
    bad = get_channel("email").send("not an address", message)
    assert (bad.status, bad.retryable) == ("failed", False)

    channel_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    channel_settings.EMAIL_HOST = "127.0.0.1"
    channel_settings.EMAIL_PORT = free_port()  # nothing listens there
    down = get_channel("email").send("oncall@example.com", message)
    assert (down.status, down.retryable) == ("failed", True)


def test_hanging_smtp_server_times_out(channel_settings, message):
    import socket
    import time

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)  # accepts the TCP handshake, never sends the SMTP greeting
        channel_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        channel_settings.EMAIL_HOST = "127.0.0.1"
        channel_settings.EMAIL_PORT = listener.getsockname()[1]
        channel_settings.NOTIFICATION_HTTP_TIMEOUT = 1.0
        started = time.monotonic()
        result = get_channel("email").send("oncall@example.com", message)
        elapsed = time.monotonic() - started
    assert (result.status, result.retryable) == ("failed", True)
    assert elapsed < 3
