"""Bad input: refused with the field named by model validation, refused by the database,
and harmless (nobody on call, no error) in the SQL functions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from incidents import oncall
from incidents.models import OnCallSchedule, ScheduleLayer, ScheduleOverride

from .conftest import sql_one, sql_rows, utc


def test_zero_rotation_length(build, people, org_a):
    schedule = build.schedule()
    layer = ScheduleLayer(
        organization=org_a, schedule=schedule, rotation_length=0, rotation_start=utc("2026-06-01")
    )
    with pytest.raises(ValidationError) as error:
        layer.full_clean()
    assert "rotation_length" in error.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        layer.save()


def test_override_ending_before_it_starts(build, people, org_a):
    schedule = build.schedule()
    override = ScheduleOverride(
        organization=org_a,
        schedule=schedule,
        user=people.alice,
        start_at=utc("2026-06-02 00:00"),
        end_at=utc("2026-06-01 00:00"),
    )
    with pytest.raises(ValidationError) as error:
        override.full_clean()
    assert "end_at" in error.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        override.save()


def test_layer_ending_before_its_rotation_starts_names_end_at(build, org_a):
    layer = ScheduleLayer(
        organization=org_a,
        schedule=build.schedule(),
        rotation_start=utc("2026-06-02"),
        end_at=utc("2026-06-01"),
    )
    with pytest.raises(ValidationError) as error:
        layer.full_clean()
    assert "end_at" in error.value.message_dict


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Foo+3", ""])
def test_unknown_time_zone_refused_by_model_and_database(org_a, zone):
    schedule = OnCallSchedule(organization=org_a, name="Ops", time_zone=zone)
    with pytest.raises(ValidationError) as error:
        schedule.full_clean()
    assert "time_zone" in error.value.message_dict
    with pytest.raises(IntegrityError, match="unknown time zone"), transaction.atomic():
        schedule.save()


def test_changing_to_an_unknown_time_zone_is_refused(build):
    schedule = build.schedule("Europe/Berlin")
    with pytest.raises(IntegrityError, match="unknown time zone"), transaction.atomic():
        OnCallSchedule.objects.filter(pk=schedule.pk).update(time_zone="Europe/Atlantis")
    OnCallSchedule.objects.filter(pk=schedule.pk).update(time_zone="America/New_York")


def test_functions_answer_nobody_if_a_bad_zone_slipped_past_the_trigger(build, people):
    schedule = build.schedule("UTC")
    layer = build.layer(schedule, [people.alice], start=utc("2026-06-01"))
    with connection.cursor() as cursor:  # only the schema owner could do this
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks for ALTER
        cursor.execute("ALTER TABLE on_call_schedules DISABLE TRIGGER on_call_schedules_time_zone")
        cursor.execute(
            "UPDATE on_call_schedules SET time_zone = 'Mars/Olympus_Mons' WHERE id = %s",
            [schedule.pk],
        )
        cursor.execute("ALTER TABLE on_call_schedules ENABLE TRIGGER on_call_schedules_time_zone")
    noon = utc("2026-06-02 12:00")
    assert sql_one("SELECT schedule_layer_user(%s, %s)", [layer.pk, noon]) is None
    assert oncall.on_call_user_id(schedule, noon) is None
    assert oncall.shifts(schedule, utc("2026-06-01"), utc("2026-07-01")) == []
    assert oncall.layer_shifts(layer, utc("2026-06-01"), utc("2026-07-01")) == []
    schedule.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        oncall.validate_schedule(schedule)
    assert "time_zone" in error.value.message_dict


def test_layer_without_participants_is_reported_and_harmless(build, people):
    schedule = build.schedule("UTC")
    build.layer(schedule, [people.alice], start=utc("2026-06-01"), position=0)
    empty = build.layer(schedule, [], start=utc("2026-06-01"), position=1)
    empty.name = "Nights"
    empty.save()

    with pytest.raises(ValidationError) as error:
        oncall.validate_schedule(schedule)
    assert error.value.message_dict == {"members": ["Layer “Nights” has no participants."]}

    # In SQL the empty layer is simply nobody, and the lower layer shows through.
    noon = utc("2026-06-02 12:00")
    assert sql_one("SELECT schedule_layer_user(%s, %s)", [empty.pk, noon]) is None
    assert oncall.on_call_user_id(schedule, noon) == people.alice.pk
    assert (
        sql_rows(
            "SELECT * FROM schedule_layer_shifts(%s, %s, %s)",
            [empty.pk, utc("2026-06-01"), utc("2026-07-01")],
        )
        == []
    )


def test_validate_schedule_collects_problems_per_field(build, people, org_a):
    schedule = build.schedule("UTC")
    build.layer(schedule, [people.alice], start=utc("2026-06-01"))
    oncall.validate_schedule(schedule)  # a sound schedule passes

    build.layer(schedule, [], start=utc("2026-06-01"), position=1)
    schedule.time_zone = "Nowhere/Land"  # not saved: validation runs before saving
    with pytest.raises(ValidationError) as error:
        oncall.validate_schedule(schedule)
    assert set(error.value.message_dict) == {"time_zone", "members"}


def test_naive_datetimes_are_refused_in_python():
    with pytest.raises(ValueError, match="time-zone-aware"):
        oncall.on_call_user_id("00000000-0000-0000-0000-000000000000", dt.datetime(2026, 6, 1))
