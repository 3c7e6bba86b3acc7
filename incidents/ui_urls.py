"""The responder web app's URLs (logged-in pages); see incidents/views.py."""

from django.urls import path

from incidents import views

urlpatterns = [
    path("incidents/", views.incident_list, name="incident-list"),
    path("incidents/live/", views.incident_list_rows, name="incident-list-live"),
    path("incidents/<uuid:pk>/", views.incident_detail, name="incident-detail"),
    path("incidents/<uuid:pk>/live/", views.incident_live, name="incident-live"),
    path(
        "incidents/<uuid:pk>/act/<slug:action>/",
        views.incident_action,
        name="incident-act",
    ),
    path("oncall/", views.oncall_now, name="oncall"),
    path("oncall/mine/", views.my_shifts, name="my-shifts"),
    path("oncall/schedules/<uuid:pk>/", views.schedule_detail, name="schedule-detail"),
    path(
        "oncall/schedules/<uuid:pk>/overrides/",
        views.override_create,
        name="override-create",
    ),
    path(
        "oncall/overrides/<uuid:pk>/delete/",
        views.override_delete,
        name="override-delete",
    ),
    path("pusher/auth", views.pusher_auth, name="pusher-auth"),
]
