"""Admin list of check results: read-only, filterable, newest first, fast at any volume.

Results live in ``check_results`` (tens of millions of rows, key (check, time)), which the
admin cannot list because of the composite key; it lists the view ``check_result_log``
(:class:`~monitoring.models.CheckResultLog`) instead. What keeps the page fast:

- no ``COUNT(*)``: :class:`NewestFirstPaginator` fetches the shown page plus one row, to
  know whether an older page exists, and reads it through growing time windows (a busy
  organization's newest page is minutes old); no "show all", no facets, no sortable columns;
- filtering by check puts the check's ``series_id`` in the query, so the primary key of
  each daily partition answers "this check, newest first" and the scan stops at the page;
- without a check, the time filter defaults to the last day, so partitions are pruned
  instead of every kept day being read;
- locations come with the page's rows (one join, three locations); the check's name and
  link come from the view.

Tenancy: the queryset is filtered to the active organization like every admin here, and the
view is ``security_invoker``, so ``check_results``' row-level security applies as well.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from accounts.admin import ReadOnlyAdmin
from monitoring.models import CheckResultLog, MonitoringCheck, MonitoringLocation

# The check filter lists this many checks by name (plus the chosen one); beyond that the
# search box (check name) and the "All results" link on a check's page find the rest.
LISTED_CHECKS = 100
HTTP_STATUS = re.compile(r"\bHTTP (\d{3})\b")


class NewestFirstPaginator(Paginator):
    """Pages of results ordered newest first, without counting them.

    It reads the asked page plus one row; the extra row tells whether an older page exists,
    so ``count`` is "rows up to the end of this page, plus one if more follow", which is all
    the admin needs. ``COUNT(*)`` over a check's month of results, or over a busy
    organization's day, would cost more than the page itself.

    The rows are read through growing time windows (the last 10 minutes, 2 hours, a day,
    then the whole filtered range), stopping at the first window that holds them: since the
    order is newest first, a window that holds the page plus one row holds exactly the rows
    the whole range would give. An organization's newest page is usually minutes old, so
    the first window reads a few thousand rows, not a day's or a month's.
    """

    SPANS = (dt.timedelta(minutes=10), dt.timedelta(hours=2), dt.timedelta(days=1))

    def __init__(self, object_list: QuerySet, per_page: int, page_number: int, **kwargs: Any):
        super().__init__(object_list, per_page, **kwargs)
        self.page_number = max(1, page_number)

    @cached_property
    def rows(self) -> list:
        """The asked page's rows plus at most one more."""
        start = (self.page_number - 1) * self.per_page
        wanted = slice(start, start + self.per_page + 1)
        now = timezone.now()
        for span in self.SPANS:
            rows = list(self.object_list.filter(checked_at__gte=now - span)[wanted])
            if len(rows) > self.per_page:
                return rows
        return list(self.object_list[wanted])

    @cached_property
    def count(self) -> int:
        return (self.page_number - 1) * self.per_page + len(self.rows)

    def page(self, number: int | str):
        number = self.validate_number(number)
        if number != self.page_number:
            return super().page(number)
        return self._get_page(self.rows[: self.per_page], number, self)


class UncountedChangeList(ChangeList):
    """Django's change list, taking a single page's rows from the paginator's one query.

    Django lists a result set that fits on one page by reading the queryset again; the
    paginator has already read those rows.
    """

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        if not self.multi_page:
            self.result_list = self.paginator.rows[: self.list_per_page]


def _organization_id(request: HttpRequest) -> uuid.UUID | None:
    organization = getattr(request, "organization", None)
    return organization.pk if organization is not None else None


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class CheckFilter(admin.SimpleListFilter):
    """By check, named by its uuid (what the "All results" link on a check's page passes).

    The check is looked up within the active organization; its ``series_id`` is what the
    results query filters on, so it runs on the (series_id, checked_at) key.
    """

    title = "check"
    parameter_name = "check"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        checks = MonitoringCheck.objects.filter(organization_id=_organization_id(request))
        listed = list(
            checks.order_by("name").values_list("pk", "name", "series_id")[:LISTED_CHECKS]
        )
        self.series_id: int | None = None
        if self.value() is not None:
            chosen = _uuid_or_none(self.value())
            if chosen is None:
                raise IncorrectLookupParameters("check: not a check id")
            found = [row for row in listed if row[0] == chosen]
            if not found:
                found = list(checks.filter(pk=chosen).values_list("pk", "name", "series_id"))
                listed += found
            if found:
                self.series_id = found[0][2]
        return [(str(pk), name) for pk, name, _series in listed]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        if self.series_id is None:  # not a check of this organization
            return queryset.none()
        return queryset.filter(monitor_id=self.series_id)


class LocationFilter(admin.SimpleListFilter):
    """By monitoring location; heartbeats are pushed to us and have none."""

    title = "location"
    parameter_name = "location"
    PUSHED = "push"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        locations = [
            (str(pk), name) for pk, name in MonitoringLocation.objects.values_list("pk", "name")
        ]
        return [*locations, (self.PUSHED, "Heartbeat (pushed)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if value == self.PUSHED:
            return queryset.filter(location__isnull=True)
        if not value.isdigit() or int(value) > 32767:
            raise IncorrectLookupParameters("location: not a location id")
        return queryset.filter(location_id=int(value))


class CheckedAtFilter(admin.ListFilter):
    """By time: a recent window, or a from/to range (UTC) typed in the sidebar.

    Without a check chosen, the default is the last 24 hours, so an organization-wide list
    reads one or two daily partitions, not every kept day; with a check chosen, all its
    kept results (the check's key makes that cheap).
    """

    title = "time checked"
    template = "admin/monitoring/checkresultlog/checked_at_filter.html"
    WINDOW, FROM, TO = "checked", "checked_from", "checked_to"
    WINDOWS = {
        "1h": ("Last hour", dt.timedelta(hours=1)),
        "24h": ("Last 24 hours", dt.timedelta(hours=24)),
        "7d": ("Last 7 days", dt.timedelta(days=7)),
        "all": ("All kept results", None),
    }
    DEFAULT_WINDOW = "24h"

    def __init__(self, request: HttpRequest, params: dict, model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        for name in (self.WINDOW, self.FROM, self.TO):
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]
        window = self.used_parameters.get(self.WINDOW)
        if window is not None and window not in self.WINDOWS:
            raise IncorrectLookupParameters(f"{self.WINDOW}: unknown window")
        self.start = self._moment(self.FROM)
        self.end = self._moment(self.TO)
        self.ranged = self.start is not None or self.end is not None
        self.default = "all" if CheckFilter.parameter_name in request.GET else self.DEFAULT_WINDOW
        skip = {self.WINDOW, self.FROM, self.TO, "p", "e"}
        # For the from/to form: the other filters and the search stay as they are.
        self.kept_params = [
            (name, value)
            for name, values in request.GET.lists()
            if name not in skip
            for value in values
        ]

    def _moment(self, name: str) -> dt.datetime | None:
        raw = self.used_parameters.get(name)
        if not raw:
            return None
        try:
            return forms.DateTimeField().clean(raw)
        except ValidationError as error:
            raise IncorrectLookupParameters(f"{name}: not a date and time") from error

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [self.WINDOW, self.FROM, self.TO]

    @property
    def window(self) -> str | None:
        return None if self.ranged else self.used_parameters.get(self.WINDOW, self.default)

    def input_value(self, name: str) -> str:
        moment = self.start if name == self.FROM else self.end
        return f"{timezone.localtime(moment):%Y-%m-%dT%H:%M:%S}" if moment else ""

    @property
    def from_value(self) -> str:
        return self.input_value(self.FROM)

    @property
    def to_value(self) -> str:
        return self.input_value(self.TO)

    def choices(self, changelist: Any):
        for key, (label, _span) in self.WINDOWS.items():
            yield {
                "selected": self.window == key,
                "query_string": changelist.get_query_string(
                    {self.WINDOW: key}, [self.FROM, self.TO]
                ),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.ranged:
            if self.start is not None:
                queryset = queryset.filter(checked_at__gte=self.start)
            if self.end is not None:
                queryset = queryset.filter(checked_at__lt=self.end)
            return queryset
        span = self.WINDOWS[self.window][1]
        if span is None:
            return queryset
        return queryset.filter(checked_at__gte=timezone.now() - span)


@admin.register(CheckResultLog)
class CheckResultLogAdmin(ReadOnlyAdmin):
    """Check results of the active organization; nothing here writes."""

    list_display = [
        "checked",
        "check_link",
        "location_name",
        "status_label",
        "response_time",
        "http_status",
        "error_reason",
    ]
    list_display_links = None
    list_filter = [CheckFilter, LocationFilter, "status", CheckedAtFilter]
    list_select_related = ["location"]
    search_fields = ["check_name", "reason"]
    search_help_text = "Check name or error text."
    sortable_by: list[str] = []
    actions = None
    list_per_page = 100
    list_max_show_all = 0
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return UncountedChangeList

    def get_paginator(
        self, request: HttpRequest, queryset: QuerySet, per_page: int, orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> NewestFirstPaginator:  # fmt: skip
        try:
            page_number = int(request.GET.get("p", 1))
        except ValueError:
            page_number = 1
        return NewestFirstPaginator(
            queryset, per_page, page_number, orphans=0, allow_empty_first_page=True
        )

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None):
        """A result by the view's key, read through the real key (the ``id`` is computed)."""
        key = CheckResultLog.parse_key(object_id)
        if key is None or key[0] > 2**31 - 1:
            return None
        series_id, checked_at = key
        return (
            self.get_queryset(request)
            .filter(monitor_id=series_id, checked_at=checked_at)
            .select_related("location")
            .first()
        )

    @admin.display(description="checked at (UTC)")
    def checked(self, obj: CheckResultLog) -> str:
        return f"{timezone.localtime(obj.checked_at):%Y-%m-%d %H:%M:%S}"

    @admin.display(description="check")
    def check_link(self, obj: CheckResultLog) -> str:
        url = reverse("admin:monitoring_monitoringcheck_change", args=[obj.check_uuid])
        return format_html('<a href="{}">{}</a>', url, obj.check_name)

    @admin.display(description="location")
    def location_name(self, obj: CheckResultLog) -> str:
        return obj.location.name if obj.location_id is not None else "Heartbeat (pushed)"

    @admin.display(description="status")
    def status_label(self, obj: CheckResultLog) -> str:
        return obj.get_status_display()

    @admin.display(description="response time")
    def response_time(self, obj: CheckResultLog) -> str:
        return "—" if obj.response_time_ms is None else f"{obj.response_time_ms} ms"

    @admin.display(description="HTTP status")
    def http_status(self, obj: CheckResultLog) -> str:
        """From the failure reason: a successful result stores no reason, so no code."""
        match = HTTP_STATUS.search(obj.reason or "")
        return match.group(1) if match else "—"

    @admin.display(description="error reason")
    def error_reason(self, obj: CheckResultLog) -> str:
        return obj.reason or ""
