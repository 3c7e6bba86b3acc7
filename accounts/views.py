"""Sign-in, the home page and the organization switcher."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import OrganizationMember
from alert24.tenancy import SESSION_KEY


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = OrganizationMember.objects.filter(user=request.user).select_related(
        "organization"
    )
    return render(request, "accounts/home.html", {"memberships": memberships})


@login_required
@require_POST
def switch_organization(request: HttpRequest) -> HttpResponse:
    """Make another of the user's organizations the active one for this session."""
    slug = request.POST.get("organization", "")
    membership = (
        OrganizationMember.objects.filter(user=request.user, organization__slug=slug)
        .select_related("organization")
        .first()
    )
    if membership is None:
        messages.error(request, "You are not a member of that organization.")
    else:
        request.session[SESSION_KEY] = str(membership.organization_id)
        messages.success(request, f"Now working in {membership.organization.name}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "home"
    return redirect(target)
