"""Bad account input gets a clear error naming the field, and nothing is half-written."""

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from accounts.models import (
    OrganizationMember,
    TeamGroup,
    TeamMembership,
    User,
    UserContactMethod,
    UserNotificationPreference,
)


def test_duplicate_email_is_refused_whatever_its_case(make_user):
    make_user("ops@example.com")
    with pytest.raises(ValidationError) as error:
        User.objects.create_user("OPS@Example.com", "pw-pw-pw-pw")
    assert "email" in error.value.message_dict
    assert User.objects.filter(email="ops@example.com").count() == 1


def test_database_refuses_uppercase_email_from_raw_sql(db):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users (email, password, full_name, time_zone, is_superuser)"
            " VALUES ('Loud@Example.com', '', '', 'UTC', false)"
        )


def test_invalid_time_zone_is_refused(make_user):
    with pytest.raises(ValidationError) as error:
        make_user(time_zone="Mars/Olympus_Mons")
    assert "time_zone" in error.value.message_dict
    assert not User.objects.filter(time_zone="Mars/Olympus_Mons").exists()


@pytest.mark.parametrize(
    ("method_type", "value"),
    [
        ("sms", "555-1234"),
        ("sms", "+0123456789"),
        ("voice", "+1 415 555 0123"),
        ("email", "not-an-address"),
        ("slack", "http://hooks.slack.com/insecure"),
    ],
)
def test_invalid_contact_methods_name_the_value_field(make_user, method_type, value):
    method = UserContactMethod(user=make_user(), method_type=method_type, value=value)
    with pytest.raises(ValidationError) as error:
        method.full_clean()
    assert "value" in error.value.message_dict


def test_valid_contact_methods_pass(make_user):
    user = make_user()
    for method_type, value in [
        ("sms", "+14155550123"),
        ("voice", "+442071838750"),
        ("email", "Pager@Example.com"),
        ("teams", "https://example.webhook.office.com/webhookb2/abc"),
    ]:
        method = UserContactMethod(user=user, method_type=method_type, value=value)
        method.full_clean()
        method.save()
    assert user.contact_methods.get(method_type="email").value == "pager@example.com"


def test_database_refuses_non_e164_phone_from_raw_sql(make_user):
    user = make_user()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO user_contact_methods (user_id, method_type, value)"
            " VALUES (%s, 'sms', '555-1234')",
            [user.pk],
        )


def test_team_membership_requires_organization_membership(make_user, org_a, org_b, admin_b):
    team = TeamGroup.objects.create(organization=org_a, name="SRE")
    membership = TeamMembership(organization=org_a, team=team, user=admin_b)
    with pytest.raises(ValidationError) as error:
        membership.full_clean()
    assert "user" in error.value.message_dict
    # The database refuses it too (composite foreign key), whatever wrote the row.
    with pytest.raises(IntegrityError), transaction.atomic():
        membership.save()
        connection.check_constraints()  # the foreign keys are deferred to commit
    assert not TeamMembership.objects.exists()


def test_team_from_another_organization_is_refused(make_user, org_a, org_b, admin_a):
    other_team = TeamGroup.objects.create(organization=org_b, name="Theirs")
    membership = TeamMembership(organization=org_a, team=other_team, user=admin_a)
    with pytest.raises(ValidationError) as error:
        membership.full_clean()
    assert "team" in error.value.message_dict


def test_duplicate_membership_is_refused(org_a, admin_a):
    with pytest.raises(ValidationError):
        OrganizationMember(organization=org_a, user=admin_a, role="viewer").full_clean()


def test_unknown_role_is_refused(org_a, make_user):
    with pytest.raises(ValidationError) as error:
        OrganizationMember(organization=org_a, user=make_user(), role="owner").full_clean()
    assert "role" in error.value.message_dict


class TestQuietHours:
    @pytest.fixture
    def preference(self, make_user):
        user = make_user(time_zone="America/New_York")
        return UserNotificationPreference.objects.create(
            user=user,
            quiet_hours_enabled=True,
            quiet_hours_start=dt.time(22, 0),
            quiet_hours_end=dt.time(7, 0),
        )

    def at(self, *args):
        return dt.datetime(*args, tzinfo=zoneinfo.ZoneInfo("America/New_York"))

    def test_overnight_window_in_users_zone(self, preference):
        assert preference.in_quiet_hours(self.at(2026, 3, 10, 23, 30))
        assert preference.in_quiet_hours(self.at(2026, 3, 11, 6, 59))
        assert not preference.in_quiet_hours(self.at(2026, 3, 11, 7, 0))
        assert not preference.in_quiet_hours(self.at(2026, 3, 11, 21, 59))

    def test_held_until_the_window_ends_in_local_time(self, preference):
        late = self.at(2026, 3, 10, 23, 30)
        assert preference.quiet_hours_over(late) == self.at(2026, 3, 11, 7, 0)
        early = self.at(2026, 3, 11, 5, 0)
        assert preference.quiet_hours_over(early) == self.at(2026, 3, 11, 7, 0)
        awake = self.at(2026, 3, 11, 12, 0)
        assert preference.quiet_hours_over(awake) == awake

    def test_judged_on_local_clock_not_utc(self, preference):
        # 03:30 UTC is 23:30 in New York (EDT) the evening before: quiet.
        utc = dt.datetime(2026, 7, 1, 3, 30, tzinfo=dt.UTC)
        assert preference.in_quiet_hours(utc)
        # 12:00 UTC is 08:00 in New York: not quiet.
        assert not preference.in_quiet_hours(utc.replace(hour=12))

    def test_weekdays_follow_the_day_the_window_starts(self, preference):
        preference.quiet_hours_weekdays = [5]  # Friday nights only
        # Saturday 02:00 belongs to Friday night's window.
        assert preference.in_quiet_hours(self.at(2026, 11, 28, 2, 0))
        # Thursday night is not quiet.
        assert not preference.in_quiet_hours(self.at(2026, 11, 26, 23, 0))

    def test_incomplete_window_is_refused(self, make_user):
        preference = UserNotificationPreference(user=make_user(), quiet_hours_enabled=True)
        with pytest.raises(ValidationError) as error:
            preference.full_clean()
        assert {"quiet_hours_start", "quiet_hours_end"} <= set(error.value.message_dict)
