"""Acting on an incident from where the page reached the responder.

Three ways in, none with a session: the one-click link in an e-mail (a signed, expiring,
single-purpose token; GET shows a confirmation, POST acts, because mail scanners follow
links), an SMS reply ("4" acknowledges, "6" resolves) and a digit pressed during a phone
call (both Twilio webhooks, authenticated by ``X-Twilio-Signature``). Each finds the
incident's organization on the system path and then acts inside that organization's scope,
as the person who was paged. Every action is idempotent.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import OrganizationMember, User
from accounts.roles import Permission
from alert24.tenancy import organization_scope, system_scope
from incidents import lifecycle
from incidents.action_tokens import ExpiredActionToken, InvalidActionToken, read_action_token
from incidents.channels.inbound import parse_sms_reply, verify_twilio_signature
from incidents.channels.twiml import action_for_digit, confirmation_response
from incidents.models import Incident, NotificationHistory

log = logging.getLogger(__name__)

ACTIONS = ("acknowledge", "resolve")


def perform(incident_id: str, user_id: str, action: str, via: str) -> tuple[str, Incident | None]:
    """Acknowledge or resolve as ``user_id``; returns (outcome, incident).

    Outcomes: ``done``, ``already`` (nothing to do: double click, another tab), ``closed``
    (resolved already), ``forbidden`` (no longer a responder there), ``missing``.
    """
    with system_scope():
        found = Incident.objects.filter(pk=incident_id).values("organization_id").first()
    if found is None:
        return "missing", None
    organization_id = found["organization_id"]
    with organization_scope(organization_id, user_id):
        incident = Incident.objects.filter(pk=incident_id).first()
        membership = OrganizationMember.objects.filter(
            organization_id=organization_id, user_id=user_id
        ).first()
        if incident is None:
            return "missing", None
        if membership is None or not membership.allows(Permission.RESPOND):
            return "forbidden", incident
        user = User.objects.get(pk=user_id)
        change = lifecycle.acknowledge if action == "acknowledge" else lifecycle.resolve
        try:
            changed = change(incident, user, via)
        except lifecycle.IncidentClosed:
            return "closed", incident
        return ("done" if changed else "already"), incident


def _read_link(token: str) -> tuple[str, str, str]:
    """(action, incident id, user id) from a link token; raises InvalidActionToken."""
    expired = None
    for action in ACTIONS:
        try:
            incident_id, user_id = read_action_token(token, action)
            return action, incident_id, user_id
        except ExpiredActionToken as error:
            expired = error
        except InvalidActionToken:
            continue
    raise expired or InvalidActionToken("invalid action token")


@require_http_methods(["GET", "POST"])
def action_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        action, incident_id, user_id = _read_link(token)
    except ExpiredActionToken:
        return render(request, "incidents/action_link.html", {"state": "expired"}, status=410)
    except InvalidActionToken:
        return render(request, "incidents/action_link.html", {"state": "invalid"}, status=404)
    if request.method == "GET":
        with system_scope():
            incident = Incident.objects.filter(pk=incident_id).first()
        if incident is None:
            return render(request, "incidents/action_link.html", {"state": "invalid"}, status=404)
        context = {"state": "confirm", "action": action, "incident": incident}
        return render(request, "incidents/action_link.html", context)
    outcome, incident = perform(incident_id, user_id, action, f"{action} link in e-mail")
    status = {"missing": 404, "forbidden": 403}.get(outcome, 200)
    context = {"state": outcome, "action": action, "incident": incident}
    return render(request, "incidents/action_link.html", context, status=status)


def _twilio_request_is_genuine(request: HttpRequest) -> bool:
    # Twilio signs the URL it was configured with: our public SITE_URL, not the proxy's view.
    url = settings.SITE_URL + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    genuine = bool(signature) and verify_twilio_signature(url, request.POST, signature)
    if not genuine:
        log.warning(
            "Rejected Twilio webhook with a bad signature from %s", request.META.get("REMOTE_ADDR")
        )
    return genuine


def _twiml(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="application/xml")


def _sms_reply(text: str) -> HttpResponse:
    from twilio.twiml.messaging_response import MessagingResponse

    response = MessagingResponse()
    response.message(text)
    return _twiml(str(response))


@csrf_exempt
@require_POST
def twilio_sms(request: HttpRequest) -> HttpResponse:
    """An SMS reply to a page: '4' acknowledges, '6' resolves the latest incident paged there."""
    if not _twilio_request_is_genuine(request):
        return HttpResponseForbidden("invalid signature")
    phone = request.POST.get("From", "")
    reply = parse_sms_reply(request.POST.get("Body", ""))
    with system_scope():
        paged = (
            NotificationHistory.objects.filter(channel="sms", target=phone)
            .exclude(incident__status=Incident.Status.RESOLVED)
            .exclude(incident__isnull=True)
            .order_by("-created_at")
            .values("incident_id", "user_id")
            .first()
        )
    if paged is None or paged["user_id"] is None:
        log.info("SMS reply from a number with no open page: %s", phone)
        return _sms_reply("Alert24: no open incident was paged to this number.")
    if reply is None:
        return _sms_reply("Alert24: reply 4 to acknowledge or 6 to resolve.")
    action, _reference = reply
    outcome, incident = perform(
        str(paged["incident_id"]), str(paged["user_id"]), action, f"{action} by SMS reply"
    )
    return _sms_reply(_outcome_text(outcome, action, incident))


@csrf_exempt
@require_POST
def twilio_voice_gather(request: HttpRequest) -> HttpResponse:
    """The digit pressed during a phone page (Twilio <Gather> action)."""
    if not _twilio_request_is_genuine(request):
        return HttpResponseForbidden("invalid signature")
    action = action_for_digit(request.POST.get("Digits"))
    incident_id = request.GET.get("incident", "")
    phone = request.POST.get("To", "")
    with system_scope():
        paged = (
            NotificationHistory.objects.filter(
                channel="voice", target=phone, incident_id=incident_id or None
            )
            .values("user_id")
            .first()
        )
    if paged is None or paged["user_id"] is None or action is None:
        return _twiml(str(confirmation_response(None, done=False)))
    outcome, _incident = perform(incident_id, str(paged["user_id"]), action, f"{action} by phone")
    return _twiml(str(confirmation_response(action, done=outcome in ("done", "already"))))


def _outcome_text(outcome: str, action: str, incident: Incident | None) -> str:
    title = incident.title[:80] if incident else ""
    past = "acknowledged" if action == "acknowledge" else "resolved"
    return {
        "done": f"Alert24: {past} — {title}",
        "already": f"Alert24: already {past} — {title}",
        "closed": f"Alert24: already resolved — {title}",
        "forbidden": "Alert24: you can no longer act on this incident.",
        "missing": "Alert24: that incident no longer exists.",
    }[outcome]
