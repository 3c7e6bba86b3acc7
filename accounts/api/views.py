"""The base every API viewset builds on, and the read-only people endpoints.

:class:`OrganizationViewSet` is what makes adding a resource "a few lines": it scopes the
queryset to the caller's organization (on top of row-level security, which already hides
other organizations' rows), stamps the organization on creation, runs each request in a
savepoint that is rolled back when the answer is an error (nothing half-written), and
names the permission writes need.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import F, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from accounts.api.authentication import ApiKeyPrincipal, request_organization_id
from accounts.api.filters import TeamFilter, UserFilter
from accounts.models import TeamGroup, TeamMembership, User
from accounts.roles import Permission, Role


class OrganizationViewSetMixin:
    """Organization scoping, atomic requests and write permissions for a viewset.

    Subclasses set ``queryset`` (of an organization-scoped model), ``serializer_class``,
    optionally ``write_permission`` (default ``configure``) and ``ordering``.
    """

    write_permission: str = Permission.CONFIGURE
    organization_field = "organization_id"
    # Any id reaches the view, so a malformed one is a JSON 404 rather than Django's HTML.
    lookup_value_regex = "[^/]+"

    def dispatch(self, request, *args, **kwargs):
        # The tenancy middleware's transaction commits whatever the view leaves behind;
        # an error answer must leave nothing, so the view runs in a savepoint of its own.
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 400:
                transaction.set_rollback(True)
        return response

    @property
    def organization_id(self) -> uuid.UUID | None:
        return request_organization_id(self.request)

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return queryset.filter(**{self.organization_field: self.organization_id})

    def get_object(self):
        try:
            uuid.UUID(str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)))
        except ValueError:
            raise NotFound() from None
        return super().get_object()

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        context["organization_id"] = (
            None if getattr(self, "swagger_fake_view", False) else (self.organization_id)
        )
        return context

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.save(organization_id=self.organization_id)


def acting_user(request: Request) -> User | None:
    """The person an API call acts as, for the timeline and audit log.

    A session's user; for an API key, the member named by PagerDuty's ``From`` header
    (an e-mail address), if any, else nobody (the action is recorded as the API's).
    """
    if not isinstance(request.auth, ApiKeyPrincipal):
        return request.user if request.user.is_authenticated else None
    email = request.headers.get("From", "").strip().lower()
    if not email:
        return None
    return User.objects.filter(
        email=email, memberships__organization_id=request.auth.organization_id
    ).first()


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name"]


class MemberSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "time_zone", "role", "is_active"]
        read_only_fields = fields


class UserViewSet(OrganizationViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Members of the organization, with their role."""

    serializer_class = MemberSerializer
    queryset = User.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = UserFilter
    ordering = "email"
    organization_field = "memberships__organization_id"

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().annotate(role=F("memberships__role"))


class TeamMemberSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = TeamMembership
        fields = ["user", "role"]


class TeamSerializer(serializers.ModelSerializer):
    members = TeamMemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = TeamGroup
        fields = ["id", "name", "description", "members", "created_at", "updated_at"]
        read_only_fields = fields


class TeamViewSet(OrganizationViewSetMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = TeamSerializer
    queryset = TeamGroup.objects.prefetch_related("memberships__user")
    filter_backends = [DjangoFilterBackend]
    filterset_class = TeamFilter
    ordering = "name"
