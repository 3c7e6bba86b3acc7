import pytest
from django.conf import global_settings
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.test import override_settings

from accounts.models import Organization, OrganizationMember, User
from accounts.roles import Role


@pytest.fixture(scope="session", autouse=True)
def _stop_event_inbox_applier(django_db_setup, django_db_blocker):
    """Events posted to a live server are applied by a thread of this process
    (incidents/event_inbox.py); it must let go of its connection before the test database
    is dropped."""
    yield
    from incidents.event_inbox import applier

    applier.stop()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Hashing a password the production way (PBKDF2, a million rounds) costs 0.3-1.7 s on
    the CI box, and factories give every member one. Tests hash with MD5 instead; the
    production hashers stay listed, so passwords set by a child process still verify."""
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher", *global_settings.PASSWORD_HASHERS]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield


def _delete_instead_of_truncate(self, style, tables, *, reset_sequences=False, allow_cascade=False):
    """Django's flush after each transactional test truncates all ~70 tables and the result
    partitions in one statement: 1-4 s of file churn per test on the CI box, for the few
    rows a test leaves. Deleting them empties the database just the same, in milliseconds.
    Replica mode skips triggers (including foreign-key ones, so the order is free) as
    TRUNCATE does; row security off makes a hidden row an error, never a survivor."""
    if reset_sequences or allow_cascade or not tables:
        return _django_sql_flush(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
    return [
        "SET LOCAL session_replication_role = replica",
        "SET LOCAL row_security = off",
        *(f"DELETE FROM {self.quote_name(table)}" for table in tables),
    ]


_django_sql_flush = PostgresOperations.sql_flush


@pytest.fixture(scope="session", autouse=True)
def _quick_flush():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PostgresOperations, "sql_flush", _delete_instead_of_truncate)
        yield


@pytest.fixture
def make_user(db):
    counter = iter(range(1, 10_000))

    def make(email: str | None = None, **fields) -> User:
        email = email or f"user{next(counter)}@example.com"
        return User.objects.create_user(email, "correct horse battery", **fields)

    return make


@pytest.fixture
def org_a(db) -> Organization:
    return Organization.objects.create(name="Acme", slug="acme")


@pytest.fixture
def org_b(db) -> Organization:
    return Organization.objects.create(name="Globex", slug="globex")


@pytest.fixture
def admin_a(make_user, org_a) -> User:
    user = make_user("admin-a@example.com")
    OrganizationMember.objects.create(organization=org_a, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def admin_b(make_user, org_b) -> User:
    user = make_user("admin-b@example.com")
    OrganizationMember.objects.create(organization=org_b, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def channel_settings(settings):
    """Short timeouts, and private targets allowed so 127.0.0.1 stand-ins are reachable."""
    settings.NOTIFICATION_HTTP_TIMEOUT = 2.0
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.SITE_URL = "https://alert24.example.com"
    return settings
