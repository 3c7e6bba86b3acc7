"""Viewsets for monitoring checks, their results and their statistics.

Running, pausing and resuming go through the same code as the admin (``engine.run_now``
and the ``is_paused`` column, whose trigger sets the check's state), so the API can do
nothing the product's own rules would refuse.
"""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.errors import Conflict, ErrorSerializer, Unavailable
from accounts.api.pagination import ApiCursorPagination
from accounts.api.views import OrganizationViewSetMixin
from monitoring import engine, on_demand
from monitoring.api.filters import CheckFilter, CheckResultFilter, LocationFilter
from monitoring.api.serializers import (
    CheckResultSerializer,
    CheckSerializer,
    LocationSerializer,
    RunNowSerializer,
    StatisticsSerializer,
    StatisticsWindowSerializer,
)
from monitoring.api.statistics import check_statistics
from monitoring.models import STATUS_NAMES, CheckResult, MonitoringCheck, MonitoringLocation


def location_codes() -> dict[int, str]:
    """Location ids to codes (a handful of rows), instead of a join on the results table."""
    return dict(MonitoringLocation.objects.values_list("id", "code"))


class CheckViewSet(OrganizationViewSetMixin, viewsets.ModelViewSet):
    """Monitoring checks: configure, pause/resume, run now, and their statistics."""

    queryset = MonitoringCheck.objects.select_related("service").prefetch_related("locations")
    serializer_class = CheckSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CheckFilter
    ordering = "name"

    def _set_paused(self, paused: bool) -> Response:
        check = self.get_object()
        MonitoringCheck.objects.filter(pk=check.pk, is_paused=not paused).update(is_paused=paused)
        check.refresh_from_db()
        return Response(CheckSerializer(check, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=CheckSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        """Stop running the check (no-op if paused); its state becomes ``paused``."""
        return self._set_paused(True)

    @extend_schema(request=None, responses=CheckSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        """Run the check again on its schedule (no-op if running); state ``pending`` until
        the next result."""
        return self._set_paused(False)

    @extend_schema(
        request=None,
        responses={
            200: RunNowSerializer,
            429: OpenApiResponse(
                ErrorSerializer,
                f"Run on demand less than {on_demand.COOLDOWN_S} s ago (from the API or the "
                f"UI), or the organization's {on_demand.ORGANIZATION_RUNS} on-demand runs per "
                f"{on_demand.ORGANIZATION_WINDOW_S} s are spent; `Retry-After` says when to "
                "retry. Also the per-key rate limit.",
            ),
            503: OpenApiResponse(
                ErrorSerializer,
                "The run-now limit cannot be checked (Redis is down); see `Retry-After`.",
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="run-now")
    def run_now(self, request: Request, pk: str | None = None) -> Response:
        """Run the check once, now, from its first location, and record the result.

        The result counts like any other (it may confirm a failure and open an incident).
        A heartbeat check is evaluated instead: is its last ping overdue? 409 if paused.
        On-demand runs are limited per check and per organization (429 with
        `Retry-After`, see below): the run happens inside the request, and the limit keeps
        it from probing a target faster than that, whatever the check points at.
        """
        check = self.get_object()
        if check.is_paused:
            raise Conflict("The check is paused; resume it first.")
        try:
            on_demand.claim_run_now(check)
        except on_demand.RunNowTooSoon as refused:
            raise Throttled(wait=refused.retry_after, detail=str(refused)) from None
        except on_demand.RunNowUnavailable as refused:
            raise Unavailable(str(refused), wait=refused.retry_after) from None
        outcome = engine.run_now(check)
        if outcome is None:
            raise Conflict("The check could not be run.")
        latest = CheckResult.objects.filter(monitor=check).order_by("-checked_at").first()
        result = None
        if latest is not None:
            result = {
                "checked_at": latest.checked_at,
                "status": STATUS_NAMES[latest.status],
                "response_time_ms": latest.response_time_ms,
                "reason": latest.reason,
                "location": location_codes().get(latest.location_id),
            }
        data = {
            "state": outcome.state,
            "previous_state": outcome.previous_state,
            "alert": outcome.alert_id,
            "incident": outcome.incident_id,
            "result": result,
        }
        return Response(RunNowSerializer(data).data)

    @extend_schema(
        request=None, parameters=[StatisticsWindowSerializer], responses=StatisticsSerializer
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def statistics(self, request: Request, pk: str | None = None) -> Response:
        """Hourly or daily rollups and uptime % over a window (from rollups, not raw results)."""
        check = self.get_object()
        window = StatisticsWindowSerializer(data=request.query_params)
        window.is_valid(raise_exception=True)
        data = check_statistics(check, window.validated_data)
        return Response(StatisticsSerializer(data).data)


class ResultPagination(ApiCursorPagination):
    """Results come in volume: pages of 100 by default, up to 1,000."""

    page_size = 100
    max_page_size = 1000


CHECK_ID = OpenApiParameter(
    "check_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The check's id."
)


@extend_schema_view(list=extend_schema(parameters=[CHECK_ID]))
class CheckResultViewSet(OrganizationViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """A check's recent results (kept 30 days), newest first."""

    serializer_class = CheckResultSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CheckResultFilter
    pagination_class = ResultPagination
    ordering = "-checked_at"

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return CheckResult.objects.none()
        try:
            check_id = uuid.UUID(str(self.kwargs.get("check_id")))
        except ValueError:
            raise NotFound() from None
        check = MonitoringCheck.objects.filter(
            pk=check_id, organization_id=self.organization_id
        ).first()
        if check is None:
            raise NotFound()
        return CheckResult.objects.filter(monitor=check)

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        context["location_codes"] = location_codes()
        return context


class LocationViewSet(viewsets.ReadOnlyModelViewSet):
    """Where checks can run from (the same for every organization); new checks may use the
    active ones, existing checks may still name a retired one."""

    queryset = MonitoringLocation.objects.all()
    serializer_class = LocationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = LocationFilter
    pagination_class = None
    lookup_field = "code"
