"""Incident-response URLs that need no session: on-call feeds, one-click links, webhooks."""

from django.urls import path

from incidents import calendar, remote_actions

urlpatterns = [
    path(
        "oncall/ical/schedule/<str:token>.ics",
        calendar.schedule_feed,
        name="oncall-ical-schedule",
    ),
    path("oncall/ical/user/<str:token>.ics", calendar.user_feed, name="oncall-ical-user"),
    path("incidents/actions/<str:token>/", remote_actions.action_link, name="incident-action"),
    path("webhooks/twilio/sms/", remote_actions.twilio_sms, name="twilio-sms"),
    path(
        "webhooks/twilio/voice/gather/",
        remote_actions.twilio_voice_gather,
        name="twilio-voice-gather",
    ),
]
