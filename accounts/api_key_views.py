"""The organization's API keys in the responder app: list, create (shown once), revoke.

Admins only, like the admin page: a key acts for the whole organization. The full key
exists only in the response that creates it (and is never cached or logged); afterwards
the list shows its prefix, which is what people compare with their CI settings.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from accounts.activity import record_activity
from accounts.api.keys import create_api_key, revoke_api_key
from accounts.models import ApiKey
from accounts.roles import Permission
from incidents.views import member_required


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        help_text="Where it is used, e.g. “GitHub Actions deploys”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    read_only = forms.BooleanField(
        required=False, label="Read-only (may read, may not change anything)"
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the key a name.")
        return name


def _keys(request: HttpRequest) -> list[ApiKey]:
    return list(
        ApiKey.objects.filter(organization=request.organization)
        .select_related("created_by")
        .order_by(F("revoked_at").desc(nulls_first=True), "-created_at")
    )


def _page(
    request: HttpRequest, form: ApiKeyForm, *, status: int = 200, new_key: str | None = None
) -> HttpResponse:
    context = {"keys": _keys(request), "form": form, "new_key": new_key}
    response = render(request, "accounts/api_keys.html", context, status=status)
    if new_key:
        add_never_cache_headers(response)  # the one page that holds the key: never stored
    return response


@member_required(Permission.MANAGE_MEMBERS)
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    """The list, and (POST) a new key, whose secret is on this one response only."""
    if request.method == "GET":
        return _page(request, ApiKeyForm())
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    scope = ApiKey.Scope.READ if form.cleaned_data["read_only"] else ApiKey.Scope.WRITE
    new = create_api_key(
        request.organization, form.cleaned_data["name"], scope=scope, created_by=request.user
    )
    key = new.api_key
    record_activity(
        request.organization,
        "api_key_created",
        obj=key,
        description=f"{key.name} ({key.prefix}…), {key.get_scope_display().lower()}"[:500],
        metadata={"prefix": key.prefix, "scope": key.scope},
        request=request,
    )
    messages.success(request, f"Created the API key “{key.name}”.")
    return _page(request, ApiKeyForm(), new_key=new.secret)


@member_required(Permission.MANAGE_MEMBERS)
@require_POST
def api_key_revoke(request: HttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Revoke at once; revoking a revoked key changes nothing. htmx swaps the row."""
    key = (
        ApiKey.objects.filter(organization=request.organization, pk=pk)
        .select_related("created_by")
        .first()
    )
    if key is None:
        raise Http404("No such API key.")
    if revoke_api_key(key):
        record_activity(
            request.organization,
            "api_key_revoked",
            obj=key,
            description=f"{key.name} ({key.prefix}…)"[:500],
            metadata={"prefix": key.prefix},
            request=request,
        )
        text = f"Revoked “{key.name}”: requests with it are refused from now on."
    else:
        text = f"“{key.name}” was already revoked."
    if request.htmx:
        return render(request, "accounts/_api_key_row.html", {"key": key, "notice": text})
    messages.success(request, text)
    return redirect("api-keys")
