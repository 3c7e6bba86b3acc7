"""Viewsets for status pages, components, published incidents, maintenance and subscribers.

Writes that tell customers something go through ``statuspages.services`` and
``statuspages.subscriptions`` — the functions the admin and the incident UI use — so an
incident published here notifies subscribers exactly as one published there, and a
subscriber added here confirms by the same double opt-in.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.errors import Conflict
from accounts.api.pagination import ApiCursorPagination
from accounts.api.views import OrganizationViewSetMixin, acting_user
from accounts.roles import Permission
from statuspages import services, subscriptions
from statuspages.models import (
    Component,
    ComponentGroup,
    MaintenanceComponent,
    MaintenanceWindow,
    StatusPage,
    StatusPageIncident,
    StatusPageIncidentComponent,
    StatusPageIncidentUpdate,
    Subscriber,
)
from statuspages.rest.filters import (
    ComponentFilter,
    ComponentGroupFilter,
    MaintenanceWindowFilter,
    StatusPageFilter,
    StatusPageIncidentFilter,
    SubscriberFilter,
)
from statuspages.rest.serializers import (
    ComponentGroupSerializer,
    ComponentSerializer,
    MaintenanceWindowSerializer,
    StatusPageIncidentCreateSerializer,
    StatusPageIncidentSerializer,
    StatusPageSerializer,
    StatusPageUpdateCreateSerializer,
    StatusPageUpdateSerializer,
    SubscriberSerializer,
)


class StatusPageViewSet(OrganizationViewSetMixin, viewsets.ModelViewSet):
    """Status pages (deleting one deletes its components, incidents and subscribers)."""

    queryset = StatusPage.objects.all()
    serializer_class = StatusPageSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = StatusPageFilter
    ordering = "name"


class ComponentGroupViewSet(OrganizationViewSetMixin, viewsets.ModelViewSet):
    """Groups of components on a page (deleting one ungroups its components)."""

    queryset = ComponentGroup.objects.all()
    serializer_class = ComponentGroupSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ComponentGroupFilter
    ordering = ("position", "name")


class ComponentViewSet(OrganizationViewSetMixin, viewsets.ModelViewSet):
    """Components, the services and check that move them, and their current status."""

    queryset = Component.objects.prefetch_related("services")
    serializer_class = ComponentSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ComponentFilter
    ordering = ("position", "name")


class NewestUpdatesFirst(ApiCursorPagination):
    """A published incident's updates as its public page shows them: newest first (by the
    time shown, which may be set back). ``id`` breaks ties, so page boundaries are stable."""

    ordering = ("-display_at", "-id")

    def get_ordering(self, request, queryset, view) -> tuple[str, ...]:
        return self.ordering


class StatusPageIncidentViewSet(
    OrganizationViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Published incidents: create with impact and components, post updates, edit, delete.

    The status changes only through updates (each is told to subscribers); ``PATCH``
    edits the name, impact and postmortem.
    """

    queryset = StatusPageIncident.objects.prefetch_related(
        Prefetch(
            "affected",
            queryset=StatusPageIncidentComponent.objects.select_related("component"),
        ),
        "updates",
    )
    serializer_class = StatusPageIncidentSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = StatusPageIncidentFilter
    ordering = "-started_at"
    write_permission = Permission.RESPOND

    def _read(self, incident: StatusPageIncident) -> dict:
        fresh = self.get_queryset().get(pk=incident.pk)
        return StatusPageIncidentSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(
        request=StatusPageIncidentCreateSerializer, responses={201: StatusPageIncidentSerializer}
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Publish an incident; its first update (``body``) notifies subscribers."""
        data = StatusPageIncidentCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        published = services.publish_incident(
            fields.get("incident"),
            fields["status_page"],
            message=fields["body"],
            name=fields["name"],
            status=fields["status"],
            impact=fields.get("impact"),
            components=fields.get("components"),
            user=acting_user(request),
            deliver_notifications=fields["deliver_notifications"],
        )
        return Response(self._read(published), status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], request=None, responses=StatusPageUpdateSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=StatusPageUpdateCreateSerializer,
        responses={201: StatusPageUpdateSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=StatusPageUpdateSerializer,
        pagination_class=NewestUpdatesFirst,
        filter_backends=[],  # the incident list's filters do not apply to its updates
    )
    def updates(self, request: Request, pk: str | None = None) -> Response:
        """The incident's public timeline, newest first, in pages; POST adds an update (its
        status becomes the incident's, subscribers are told)."""
        incident = self.get_object()
        if request.method == "POST":
            data = StatusPageUpdateCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            fields = data.validated_data
            update = services.post_update(
                incident,
                status=fields["status"],
                message=fields["body"],
                components=fields.get("components"),
                user=acting_user(request),
                deliver_notifications=fields["deliver_notifications"],
            )
            return Response(StatusPageUpdateSerializer(update).data, status=status.HTTP_201_CREATED)
        updates = StatusPageIncidentUpdate.objects.filter(status_page_incident=incident)
        page = self.paginate_queryset(updates)
        return self.get_paginated_response(StatusPageUpdateSerializer(page, many=True).data)


class MaintenanceWindowViewSet(OrganizationViewSetMixin, viewsets.ModelViewSet):
    """Planned maintenance; it starts and completes on schedule unless set by hand."""

    queryset = MaintenanceWindow.objects.prefetch_related("components")
    serializer_class = MaintenanceWindowSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = MaintenanceWindowFilter
    ordering = "-scheduled_start"

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        fields = serializer.validated_data
        window = services.schedule_maintenance(
            fields["status_page"],
            name=fields["name"],
            scheduled_start=fields["scheduled_start"],
            scheduled_end=fields["scheduled_end"],
            components=fields.get("components", []),
            description=fields.get("description", ""),
            auto_start=fields.get("auto_start", True),
            auto_complete=fields.get("auto_complete", True),
            deliver_notifications=fields.get("deliver_notifications", True),
        )
        serializer.instance = MaintenanceWindow.objects.prefetch_related("components").get(
            pk=window.pk
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        window: MaintenanceWindow = serializer.instance
        fields = dict(serializer.validated_data)
        fields.pop("status_page", None)
        new_status = fields.pop("status", None)
        components = fields.pop("components", None)
        with transaction.atomic():
            for field, value in fields.items():
                setattr(window, field, value)
            if fields:
                window.save(update_fields=list(fields))
            if components is not None:
                self._set_components(window, components)
            if new_status is not None and new_status != window.status:
                services.set_maintenance_status(window, new_status)
        serializer.instance = MaintenanceWindow.objects.prefetch_related("components").get(
            pk=window.pk
        )

    @staticmethod
    def _set_components(window: MaintenanceWindow, components: list[Component]) -> None:
        wanted = {component.pk for component in components}
        MaintenanceComponent.objects.filter(maintenance_window=window).exclude(
            component_id__in=wanted
        ).delete()
        have = set(
            MaintenanceComponent.objects.filter(maintenance_window=window).values_list(
                "component_id", flat=True
            )
        )
        MaintenanceComponent.objects.bulk_create(
            MaintenanceComponent(
                organization_id=window.organization_id, maintenance_window=window, component_id=pk
            )
            for pk in wanted - have
        )


class SubscriberViewSet(
    OrganizationViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Subscribers of a page. E-mail and SMS subscribers get a confirmation link (double
    opt-in) and count once confirmed; webhooks are active at once. DELETE unsubscribes
    (the record stays, as ``unsubscribed``, so nobody can re-add it without a new opt-in).
    """

    queryset = Subscriber.objects.prefetch_related("components")
    serializer_class = SubscriberSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = SubscriberFilter
    ordering = "-created_at"

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        fields = serializer.validated_data
        page, channel = fields["status_page"], fields["channel"]
        try:
            target = subscriptions.normalise_target(channel, fields["target"])
        except DjangoValidationError as error:
            raise serializers.ValidationError({"target": error.messages}) from None
        existing = Subscriber.objects.filter(
            status_page=page, channel=channel, target__iexact=target, unsubscribed_at__isnull=True
        ).exists()
        if existing:
            raise Conflict("This address is already subscribed to this page.")
        result = subscriptions.subscribe(page, channel, target, fields.get("components", []))
        serializer.instance = Subscriber.objects.prefetch_related("components").get(
            pk=result.subscriber.pk
        )

    def perform_destroy(self, instance: Subscriber) -> None:
        token = subscriptions.unsubscribe_token(instance)  # never leaves this function
        subscriptions.unsubscribe(instance.status_page, token)
