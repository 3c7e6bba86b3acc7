"""Two-step sign-in and the profile's two-factor settings (logic in ``accounts.two_factor``)."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from accounts import two_factor
from accounts.two_factor import CodeCheck


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Authentication code",
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
    )


class ConfirmForm(forms.Form):
    confirmation = forms.CharField(max_length=128, strip=False)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _verify_url(next_url: str) -> str:
    return f"{reverse('login-verify')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}"


def _code_error(form: forms.Form, field: str, result: CodeCheck) -> int:
    """Put the reason a code was refused on the form; return the HTTP status to answer with."""
    if result.locked_seconds:
        form.add_error(
            field,
            f"Too many wrong attempts. Wait {result.locked_seconds} seconds, then try again.",
        )
        return 429
    form.add_error(field, "That code is not valid. Check your authenticator app and try again.")
    return 400


class LoginView(auth_views.LoginView):
    """Django's password step; a user with 2FA then goes on to the code step, unverified."""

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if two_factor.pending_user(request) is not None:
            return redirect(_verify_url(self.get_success_url()))
        return super().get(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        user = form.get_user()
        response = super().form_valid(form)
        if user.two_factor_enabled:
            self.request.session[two_factor.PENDING_SESSION_KEY] = time.time()
            return redirect(_verify_url(self.get_success_url()))
        return response


@never_cache
@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the app, or a recovery code (which then stops working)."""
    next_url = _safe_next(request)
    user = two_factor.pending_user(request)
    if user is None:
        return redirect(next_url if request.user.is_authenticated else settings.LOGIN_URL)
    started = request.session.get(two_factor.PENDING_SESSION_KEY)
    if started and time.time() - float(started) > two_factor.PENDING_SECONDS:
        auth_logout(request)
        messages.error(request, "That took too long. Please log in again.")
        return redirect(settings.LOGIN_URL)

    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            result = two_factor.check_code(user, form.cleaned_data["code"])
            if result.ok:
                request.user = user
                otp_login(request, result.device)
                request.session.pop(two_factor.PENDING_SESSION_KEY, None)
                request.session.cycle_key()
                if result.used_recovery_code:
                    left = two_factor.remaining_recovery_codes(user)
                    two_factor.record_security_event(
                        user, "two_factor_recovery_code_used", request, remaining=left
                    )
                    messages.warning(
                        request,
                        f"You used a recovery code; {left} left. "
                        "Generate new ones in your profile if you are running low.",
                    )
                return redirect(next_url)
            status = _code_error(form, "code", result)
    return render(
        request,
        "registration/login_verify.html",
        {"form": form, "next": next_url, "pending_email": user.email},
        status=status,
    )


# --- Profile: turning it on and off ---------------------------------------------------------


def profile_context(request: HttpRequest) -> dict:
    """What the profile page's two-factor section shows."""
    user = request.user
    if not user.two_factor_enabled:
        return {"two_factor_enabled": False}
    return {
        "two_factor_enabled": True,
        "recovery_codes_left": two_factor.remaining_recovery_codes(user),
    }


def _show_recovery_codes(request: HttpRequest, codes: list[str], *, first: bool) -> HttpResponse:
    """Shown once, in the answer to the POST that made them (never_cache: not kept anywhere)."""
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "first_time": first})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Show the QR code and secret; 2FA is on only after the app's first code is confirmed."""
    user = request.user
    if user.two_factor_enabled:
        messages.info(request, "Two-factor authentication is already on.")
        return redirect("profile")
    device = two_factor.start_setup(user)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            result = two_factor.confirm_setup(request, device, form.cleaned_data["code"])
            if result.ok:
                codes = two_factor.new_recovery_codes(user)
                two_factor.record_security_event(user, "two_factor_enabled", request)
                return _show_recovery_codes(request, codes, first=True)
            status = _code_error(form, "code", result)
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": two_factor.qr_code_svg(device),
            "secret": two_factor.secret_for_display(device),
        },
        status=status,
    )


def _reauthenticate(request: HttpRequest, form_name: str) -> tuple[CodeCheck, HttpResponse | None]:
    """Check the password-or-code field; on failure, the profile page with the error."""
    from accounts.views import profile_page

    form = ConfirmForm(request.POST)
    result = CodeCheck()
    if form.is_valid():
        result = two_factor.check_password_or_code(request.user, form.cleaned_data["confirmation"])
    if result.ok:
        return result, None
    if result.locked_seconds:
        error = f"Too many wrong attempts. Wait {result.locked_seconds} seconds, then try again."
        status = 429
    else:
        error = "Enter your password or a current authentication code."
        status = 400
    return result, profile_page(request, status=status, **{form_name: error})


@login_required
@never_cache
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """Replace the recovery codes (the old ones stop working) after re-authentication."""
    if not request.user.two_factor_enabled:
        messages.info(request, "Two-factor authentication is off.")
        return redirect("profile")
    _, refusal = _reauthenticate(request, "recovery_codes_error")
    if refusal is not None:
        return refusal
    codes = two_factor.new_recovery_codes(request.user)
    two_factor.record_security_event(request.user, "two_factor_recovery_codes_replaced", request)
    return _show_recovery_codes(request, codes, first=False)


@login_required
@require_POST
def disable(request: HttpRequest) -> HttpResponse:
    """Turn 2FA off after re-authentication; sign-in asks for the password only again."""
    user = request.user
    if not user.two_factor_enabled:
        messages.info(request, "Two-factor authentication is already off.")
        return redirect("profile")
    _, refusal = _reauthenticate(request, "disable_error")
    if refusal is not None:
        return refusal
    two_factor.disable(user)
    user.two_factor_enabled = False
    two_factor.record_security_event(user, "two_factor_disabled", request)
    messages.success(request, "Two-factor authentication is off.")
    return redirect("profile")
