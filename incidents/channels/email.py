"""E-mail through Django's configured backend (``EMAIL_URL``): plain text + HTML.

Retries of one attempt reuse one ``Message-ID`` derived from the idempotency key, so a mail
accepted twice (the SMTP answer was lost after the server took it) is one message to mail
stores that dedupe by Message-ID; ``References`` threads every mail about an incident.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.template.loader import render_to_string

from incidents.channels.base import DeliveryResult, Message, one_line

SUBJECT_PREFIX = "[Alert24]"


def subject_for(message: Message) -> str:
    """``[Alert24] TRIGGERED: <title>``, on one line, short enough for any mail client."""
    return one_line(f"{SUBJECT_PREFIX} {message.headline}", limit=200)


def _domain() -> str:
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "alert24.localhost"


def _id_part(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", value)[:120]


def _smtp_failure(exc: Exception) -> DeliveryResult:
    """4xx SMTP replies and lost connections are worth retrying; 5xx replies are final."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{code} {msg!r}" for code, msg in exc.recipients.values())
        return DeliveryResult.failed(
            f"recipient refused: {detail}", retryable=any(400 <= c < 500 for c in codes)
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return DeliveryResult.failed(
            f"SMTP {exc.smtp_code} {text}".strip(), retryable=not 500 <= exc.smtp_code < 600
        )
    if isinstance(exc, TimeoutError):
        return DeliveryResult.failed(f"SMTP timed out: {exc}", retryable=True)
    return DeliveryResult.failed(f"SMTP error: {type(exc).__name__}: {exc}", retryable=True)


class EmailChannel:
    """Sends one incident e-mail to one address."""

    kind = "email"

    def __init__(self, connection: object | None = None) -> None:
        self.connection = connection

    def build(self, target: str, message: Message) -> EmailMultiAlternatives:
        """The e-mail as it will be sent; separate from ``send`` so it can be previewed."""
        subject = subject_for(message)
        context = {"message": message, "subject": subject}
        text = render_to_string("notifications/email/incident.txt", context)
        html = render_to_string("notifications/email/incident.html", context)
        domain = _domain()
        key = message.idempotency_key or f"{message.incident_id}.{message.status}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        thread = f"<incident.{_id_part(str(message.incident_id))}@{domain}>"
        headers = {
            "Message-ID": f"<alert24.{digest}@{domain}>",
            "X-Alert24-Idempotency-Key": key,
            "X-Alert24-Incident": str(message.incident_id),
            "References": thread,
            "In-Reply-To": thread,
            "Auto-Submitted": "auto-generated",
        }
        connection = self.connection or get_connection(
            timeout=getattr(settings, "EMAIL_TIMEOUT", None) or settings.NOTIFICATION_HTTP_TIMEOUT
        )
        mail = EmailMultiAlternatives(
            subject, text, to=[target], headers=headers, connection=connection
        )
        mail.attach_alternative(html, "text/html")
        return mail

    def send(self, target: str, message: Message) -> DeliveryResult:
        try:
            validate_email(target)
        except ValidationError:
            return DeliveryResult.failed(f"invalid e-mail address {target!r}", retryable=False)
        mail = self.build(target, message)
        try:
            mail.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            return _smtp_failure(exc)
        return DeliveryResult.sent(mail.extra_headers["Message-ID"])
