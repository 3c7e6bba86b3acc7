"""``manage.py create_api_key --organization SLUG [--read-only] [--name NAME]``.

Prints the key once: only its hash is stored, so it cannot be shown again.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.activity import record_activity
from accounts.api.keys import create_api_key
from accounts.models import ApiKey, Organization


class Command(BaseCommand):
    help = "Create an API key for an organization and print it (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", required=True, help="The organization's slug.")
        parser.add_argument("--name", default="API key", help="A name to recognise it by.")
        parser.add_argument(
            "--read-only", action="store_true", help="May only read (GET), not change anything."
        )

    def handle(self, *args, organization: str, name: str, read_only: bool, **options) -> None:
        # Runs as the schema owner (the system path): no request, no organization scope.
        found = Organization.objects.filter(slug=organization).first()
        if found is None:
            raise CommandError(f"No organization with the slug {organization!r}.")
        scope = ApiKey.Scope.READ if read_only else ApiKey.Scope.WRITE
        new = create_api_key(found, name, scope=scope)
        key = new.api_key
        record_activity(
            found,
            "api_key_created",
            obj=key,
            description=f"{key.name} ({key.prefix}…), {key.get_scope_display().lower()}"[:500],
            metadata={"prefix": key.prefix, "scope": key.scope, "via": "manage.py"},
        )
        self.stderr.write(
            f"Created {new.api_key.get_scope_display().lower()} key {name!r} for {found.name}."
            " Store it now: it is not shown again."
        )
        self.stdout.write(new.secret)
