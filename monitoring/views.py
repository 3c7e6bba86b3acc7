"""The heartbeat endpoint: ``/hb/<token>`` (and ``/hb/<token>/fail``) for cron jobs.

Anonymous by design — a cron job has no session — so the token is the credential. The
request runs as the app role with no organization (RLS hides every check); the token is
resolved by the narrow ``SECURITY DEFINER`` function ``heartbeat_check_for_token``, and the
ping is recorded inside that check's organization scope, nowhere else.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from alert24.tenancy import organization_scope
from monitoring.engine import record_ping

MAX_TOKEN_LENGTH = 64


def _lookup(token: str) -> tuple | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT check_id, organization_id FROM heartbeat_check_for_token(%s)", [token]
        )
        return cursor.fetchone()


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body + "\n", status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def heartbeat(request: HttpRequest, token: str, fail: bool = False) -> HttpResponse:
    found = _lookup(token)
    if found is None:
        return _text("not found", 404)
    check_id, organization_id = found
    with organization_scope(organization_id):
        outcome = record_ping(check_id, fail=fail)
    if outcome is None:
        return _text("OK (check paused)")
    return _text("OK (failure recorded)" if fail else "OK")
