"""URLs of the REST API (``/api/v1/``), its schema and docs, and the event endpoints.

To add a resource (monitoring checks, status pages…): write a viewset on
``accounts.api.views.OrganizationViewSetMixin`` in the app's ``api/`` package and register
it on ``router`` below — one line.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api import errors
from accounts.api.views import TeamViewSet, UserViewSet
from incidents import events_views
from incidents.api.views import (
    EscalationPolicyViewSet,
    IncidentViewSet,
    ScheduleViewSet,
    ServiceViewSet,
)
from monitoring.api.views import CheckResultViewSet, CheckViewSet, LocationViewSet
from statuspages.rest.views import (
    ComponentGroupViewSet,
    ComponentViewSet,
    MaintenanceWindowViewSet,
    StatusPageIncidentViewSet,
    StatusPageViewSet,
    SubscriberViewSet,
)

router = DefaultRouter(trailing_slash="/?")
router.include_root_view = False
router.register("incidents", IncidentViewSet, basename="incident")
router.register("services", ServiceViewSet, basename="service")
router.register("escalation-policies", EscalationPolicyViewSet, basename="escalation-policy")
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("users", UserViewSet, basename="user")
router.register("teams", TeamViewSet, basename="team")
router.register("checks", CheckViewSet, basename="check")
router.register(r"checks/(?P<check_id>[^/]+)/results", CheckResultViewSet, basename="check-result")
router.register("monitoring-locations", LocationViewSet, basename="monitoring-location")
router.register("status-pages", StatusPageViewSet, basename="status-page")
router.register("component-groups", ComponentGroupViewSet, basename="component-group")
router.register("components", ComponentViewSet, basename="component")
router.register("status-page-incidents", StatusPageIncidentViewSet, basename="status-page-incident")
router.register("maintenance-windows", MaintenanceWindowViewSet, basename="maintenance-window")
router.register("subscribers", SubscriberViewSet, basename="subscriber")

urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # PagerDuty Events API v2 (point a client's base URL at this server).
    path("v2/enqueue", events_views.enqueue, name="events-enqueue"),
    path("v2/change/enqueue", events_views.change_enqueue, name="events-change-enqueue"),
    re_path(
        r"^integrations/alertmanager/(?P<integration_key>[0-9a-zA-Z]{32})/?$",
        events_views.alertmanager,
        name="alertmanager-webhook",
    ),
    # Last: any other /api/ path is the API's JSON 404, not Django's HTML page.
    re_path(r"^api(?:/(?P<rest>.*))?$", errors.not_found, name="api-not-found"),
]
