"""On-call URLs, mounted under ``/oncall/``."""

from django.urls import path

from incidents import calendar

urlpatterns = [
    path("ical/schedule/<str:token>.ics", calendar.schedule_feed, name="oncall-ical-schedule"),
    path("ical/user/<str:token>.ics", calendar.user_feed, name="oncall-ical-user"),
]
