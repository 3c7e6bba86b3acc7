"""Organization tenancy, enforced twice: by the ORM and by PostgreSQL row-level security.

Every organization-scoped table has RLS enabled with a policy keyed on the transaction
setting ``app.current_organization_id`` (``alert24/sql/organization_rls.sql``). The schema
owner (the role in ``DATABASE_URL``) bypasses RLS; that is the one system path, used by
migrations, Celery jobs that span organizations and the seed's psql checks. Every web and
API request instead runs its transaction as the non-owner ``DATABASE_APP_ROLE`` with the
setting made, so a queryset that forgets its organization filter still sees only its own
organization's rows.

Use :func:`organization_scope` to act for one organization outside a request (a Celery task
working on one organization's check, a test), and nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib.postgres.functions import RandomUUID
from django.db import connection, migrations, models, transaction
from django.http import HttpRequest, HttpResponse

SQL_DIR = Path(__file__).resolve().parent / "sql"


class UUIDModel(models.Model):
    """Primary keys are UUIDs made by the database, so raw SQL inserts need no id."""

    id = models.UUIDField(primary_key=True, db_default=RandomUUID(), editable=False)

    class Meta:
        abstract = True


class OrganizationScopedModel(UUIDModel):
    """Base for every table that belongs to one organization (and so is under RLS).

    The migration that creates a subclass's table must also apply
    :func:`organization_rls` to it; ``tests/alert24/test_tenancy.py`` fails otherwise.
    """

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        abstract = True


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def organization_rls(table: str, column: str = "organization_id") -> migrations.RunSQL:
    """The migration operation that puts ``table`` under organization row-level security."""
    template = (SQL_DIR / "organization_rls.sql").read_text()
    forward, reverse = template.split("-- reverse\n")
    params = {"table": table, "column": column}
    return migrations.RunSQL(forward.format(**params), reverse.format(**params))


def run_sql_file(path: Path) -> migrations.RunSQL:
    """A migration operation from a ``.sql`` file whose reverse follows a ``-- reverse`` line."""
    forward, _, reverse = path.read_text().partition("-- reverse\n")
    return migrations.RunSQL(forward, reverse or migrations.RunSQL.noop)


@contextmanager
def organization_scope(
    organization_id: uuid.UUID | str | None, user_id: uuid.UUID | str | None = None
) -> Iterator[None]:
    """Run the enclosed queries as the app role for one organization (RLS applies).

    Opens a transaction (a savepoint when nested). ``SET LOCAL`` lasts to the end of the
    outermost transaction, so on a normal exit the previous role and settings are restored;
    on an error the savepoint rollback restores them.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, current_setting('app.current_organization_id', true),"
            " current_setting('app.current_user_id', true)"
        )
        previous_role, previous_org, previous_user = cursor.fetchone()
        _set_scope(cursor, settings.DATABASE_APP_ROLE, organization_id, user_id)
        yield
        _set_scope(cursor, previous_role, previous_org, previous_user)


def _set_scope(cursor, role: str, organization_id, user_id) -> None:
    cursor.execute(f"SET LOCAL ROLE {_quote(role)}")
    cursor.execute(
        "SELECT set_config('app.current_organization_id', %s, true),"
        " set_config('app.current_user_id', %s, true)",
        [str(organization_id or ""), str(user_id or "")],
    )


@contextmanager
def system_scope() -> Iterator[None]:
    """Run the enclosed queries as the schema owner, across organizations (RLS bypassed).

    The narrow path for requests that are not a member's: an e-mailed one-click link, a
    Twilio webhook. Use it only to find which organization (and person) such a request is
    about, then act inside :func:`organization_scope`.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, session_user")
        previous_role, owner = cursor.fetchone()
        cursor.execute(f"SET LOCAL ROLE {_quote(owner)}")
        yield
        cursor.execute(f"SET LOCAL ROLE {_quote(previous_role)}")


class OrganizationMiddleware:
    """Chooses the request's active organization and runs the rest of the request under RLS.

    The active organization is the one stored in the session (set by the organization
    switcher) if the user is still a member, else their first membership. Choosing it reads
    ``organization_members`` for this user only, before the role switch; everything after
    runs in one transaction as the app role.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from accounts.models import OrganizationMember

        request.membership = None
        request.organization = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.membership = OrganizationMember.objects.active_for(
                user, request.session.get(SESSION_KEY)
            )
            if request.membership is not None:
                request.organization = request.membership.organization
        with organization_scope(
            request.organization.pk if request.organization else None,
            user.pk if user is not None and user.is_authenticated else None,
        ):
            return self.get_response(request)


SESSION_KEY = "alert24_organization_id"


def organization_context(request: HttpRequest) -> dict:
    """Template context: the active organization and membership for the switcher."""
    return {
        "organization": getattr(request, "organization", None),
        "membership": getattr(request, "membership", None),
    }
