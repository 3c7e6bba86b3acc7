"""Viewsets for incidents, services, escalation policies and on-call schedules.

State changes go through ``incidents.lifecycle`` (the same functions the UI, e-mail links
and Twilio replies use), so the API can do nothing the product's own rules would refuse.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.errors import Conflict
from accounts.api.pagination import OldestFirstPagination
from accounts.api.views import OrganizationViewSetMixin, acting_user
from accounts.roles import Permission
from incidents import lifecycle, oncall
from incidents.api.filters import (
    EscalationPolicyFilter,
    IncidentFilter,
    ScheduleFilter,
    ServiceFilter,
)
from incidents.api.serializers import (
    EscalationPolicySerializer,
    IncidentCreateSerializer,
    IncidentSerializer,
    IntegrationSerializer,
    NoteSerializer,
    OnCallNowSerializer,
    ScheduleSerializer,
    ServiceSerializer,
    ShiftSerializer,
    ShiftWindowSerializer,
    TimelineEntrySerializer,
)
from incidents.models import (
    EscalationPolicy,
    Incident,
    IncidentUpdate,
    OnCallSchedule,
    Service,
    ServiceIntegration,
)

API_REASON = "via REST API"

# Documented with an example window: a client (and the schema fuzzer) then has one valid
# request to start from; validation stays ShiftWindowSerializer's.
SHIFT_WINDOW = [
    OpenApiParameter(
        "since",
        OpenApiTypes.DATETIME,
        required=True,
        description="Window start (ISO 8601 with offset).",
        examples=[OpenApiExample("since", value="2026-03-01T00:00:00Z")],
    ),
    OpenApiParameter(
        "until",
        OpenApiTypes.DATETIME,
        required=True,
        description="Window end; at most 366 days after since.",
        examples=[OpenApiExample("until", value="2026-03-08T00:00:00Z")],
    ),
]


class IncidentViewSet(
    OrganizationViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Incidents: list and filter, open, acknowledge, resolve, notes and timeline."""

    queryset = Incident.objects.prefetch_related("assignees")
    serializer_class = IncidentSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = IncidentFilter
    ordering = "-created_at"
    write_permission = Permission.RESPOND
    # Opening an incident and changing its status are logged by database triggers.
    activity_logged_elsewhere = frozenset({"create", "acknowledge", "resolve"})

    @extend_schema(
        request=IncidentCreateSerializer,
        responses={
            201: IncidentSerializer,
            200: OpenApiResponse(IncidentSerializer, "An open incident had this dedup_key."),
        },
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = IncidentCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        service = fields.pop("service")
        opened = lifecycle.open_incident(
            service, created_by=acting_user(request), source=Incident.Source.MANUAL, **fields
        )
        return Response(
            IncidentSerializer(opened.incident).data,
            status=status.HTTP_201_CREATED if opened.created else status.HTTP_200_OK,
        )

    def _change(self, change, request: Request) -> Response:
        incident = self.get_object()
        try:
            change(incident, acting_user(request), API_REASON)
        except lifecycle.IncidentClosed as error:
            raise Conflict(error.messages[0]) from error
        return Response(IncidentSerializer(incident).data)

    @extend_schema(request=None, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Acknowledge (no-op if already acknowledged; 409 if resolved)."""
        return self._change(lifecycle.acknowledge, request)

    @extend_schema(request=None, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        """Resolve (no-op if already resolved)."""
        return self._change(lifecycle.resolve, request)

    @extend_schema(methods=["GET"], request=None, responses=NoteSerializer(many=True))
    @extend_schema(methods=["POST"], request=NoteSerializer, responses={201: NoteSerializer})
    # The list's filters (?status=…) are not the notes' and must not hide the incident.
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=NoteSerializer,
        pagination_class=OldestFirstPagination,
        filter_backends=[],
    )
    def notes(self, request: Request, pk: str | None = None) -> Response:
        """The incident's notes, oldest first, in pages; POST adds one."""
        incident = self.get_object()
        if request.method == "POST":
            serializer = NoteSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            note = lifecycle.add_note(
                incident, acting_user(request), serializer.validated_data["message"]
            )
            return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)
        notes = IncidentUpdate.objects.filter(
            incident=incident, update_type=IncidentUpdate.Kind.NOTE
        )
        return self._page(notes, NoteSerializer)

    @extend_schema(request=None, responses=TimelineEntrySerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        serializer_class=TimelineEntrySerializer,
        pagination_class=OldestFirstPagination,
        filter_backends=[],
    )
    def timeline(self, request: Request, pk: str | None = None) -> Response:
        """Everything that happened to the incident, oldest first, in pages."""
        incident = self.get_object()
        return self._page(IncidentUpdate.objects.filter(incident=incident), TimelineEntrySerializer)

    def _page(
        self, queryset: QuerySet, serializer_class: type[serializers.BaseSerializer]
    ) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


class ServiceViewSet(OrganizationViewSetMixin, viewsets.ModelViewSet):
    """Services, each with its integrations (the Events API routing keys)."""

    queryset = Service.objects.prefetch_related("integrations")
    serializer_class = ServiceSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ServiceFilter
    ordering = "name"

    def perform_destroy(self, instance: Service) -> None:
        if instance.incidents.exists():
            raise Conflict("A service with incidents cannot be deleted; disable it instead.")
        instance.delete()

    @extend_schema(methods=["GET"], request=None, responses=IntegrationSerializer(many=True))
    @extend_schema(
        methods=["POST"], request=IntegrationSerializer, responses={201: IntegrationSerializer}
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=IntegrationSerializer,
        pagination_class=OldestFirstPagination,
        filter_backends=[],
    )
    def integrations(self, request: Request, pk: str | None = None) -> Response:
        """The service's integrations, oldest first, in pages; POST adds one (its key is
        generated)."""
        service = self.get_object()
        if request.method == "POST":
            serializer = IntegrationSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            serializer.save(organization_id=service.organization_id, service=service)
            return Response(serializer.data, status=status.HTTP_201_CREATED)
        integrations = ServiceIntegration.objects.filter(service=service)
        page = self.paginate_queryset(integrations)
        return self.get_paginated_response(IntegrationSerializer(page, many=True).data)


class EscalationPolicyViewSet(OrganizationViewSetMixin, viewsets.ModelViewSet):
    """Escalation policies with their levels (rules) and targets nested."""

    queryset = EscalationPolicy.objects.prefetch_related("rules__targets")
    serializer_class = EscalationPolicySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = EscalationPolicyFilter
    ordering = "name"

    def perform_destroy(self, instance: EscalationPolicy) -> None:
        if instance.services.exists():
            raise Conflict("Services use this policy; point them at another one first.")
        instance.delete()


class ScheduleViewSet(OrganizationViewSetMixin, viewsets.ModelViewSet):
    """On-call schedules, who is on call now, and the final schedule over a window."""

    queryset = OnCallSchedule.objects.prefetch_related(
        "layers__memberships", "layers__restrictions"
    )
    serializer_class = ScheduleSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ScheduleFilter
    ordering = "name"

    @extend_schema(request=None, responses=OnCallNowSerializer)
    @action(detail=True, methods=["get"], url_path="on-call-now", pagination_class=None)
    def on_call_now(self, request: Request, pk: str | None = None) -> Response:
        """Who is on call for this schedule right now (``user`` is null if nobody)."""
        schedule = self.get_object()
        at = timezone.now()
        user = oncall.on_call_now([schedule], at).get(schedule.pk)
        data = {"schedule": schedule.pk, "at": at, "user": user}
        return Response(OnCallNowSerializer(data).data)

    @extend_schema(
        request=None,
        parameters=SHIFT_WINDOW,
        responses=ShiftSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def shifts(self, request: Request, pk: str | None = None) -> Response:
        """The final schedule (overrides and layers resolved) between ``since`` and ``until``."""
        schedule = self.get_object()
        window = ShiftWindowSerializer(data=request.query_params)
        window.is_valid(raise_exception=True)
        since, until = window.validated_data["since"], window.validated_data["until"]
        items = oncall.shifts(schedule, since, until)
        data = [{"user": s.user, "start": s.start, "end": s.end} for s in items]
        return Response(ShiftSerializer(data, many=True).data)
