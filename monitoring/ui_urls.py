"""The responder app's monitor pages (logged in); see monitoring/pages.py."""

from django.urls import path

from monitoring import pages

urlpatterns = [
    path("monitors/", pages.monitor_list, name="monitor-list"),
    path("monitors/<uuid:pk>/", pages.monitor_detail, name="monitor-detail"),
    path("monitors/<uuid:pk>/act/<slug:action>/", pages.monitor_action, name="monitor-act"),
]
