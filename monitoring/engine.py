"""The monitoring engine's Python half: dispatching, running batches, feeding results.

The rules live in PostgreSQL (``monitoring/sql/monitoring_engine.sql``): which schedule
rows are due and their next time (``claim_due_checks``), and what a result means — the
confirmation state machine, alerts, incidents, statistics (``record_check_results``).
This module does what the database cannot: talk to the network.

Flow: beat runs :func:`dispatch_due_checks` every few seconds. It claims the rows due in
the next few seconds and sends them, in batches per location and per second, to each
location's queue (``checks.<code>``). A worker there runs :func:`run_batch`: it waits for
each check's exact time, runs up to ``MONITORING_CHECK_CONCURRENCY`` checks at once with
asyncio (each bounded by ``run_check``'s hard deadline and a second one here), and writes
all results with one ``record_check_results`` call. A first failure comes back with a
location to re-check from, which is sent at once. Heartbeat checks are not probed: the
dispatcher evaluates them (:func:`evaluate_heartbeats`), pings record themselves
(:func:`record_ping`).

A lost message or a killed worker costs one run of the checks in it: the schedule has
already moved on, and the next interval runs them again.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime as dt
import json
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from monitoring.checks import CheckResult, run_check
from monitoring.checks.http import close_shared_clients
from monitoring.checks.result import down
from monitoring.models import MonitoringCheck, MonitoringLocation

log = logging.getLogger(__name__)

RUN_CHECKS_TASK = "monitoring.run_checks"
# The dispatcher claims this far ahead; workers wait for each check's exact time, so the
# beat tick and the queue hop do not make checks late.
DISPATCH_HORIZON_S = 3.0
DISPATCH_LIMIT = 20_000
BATCH_SIZE = 250
SLOT_S = 0.5
# Beyond run_check's own deadline: if even that fails, the worker still moves on.
WORKER_DEADLINE_MARGIN_S = 5.0
# A batch message older than this is dropped by the worker: the next run is near anyway.
MESSAGE_EXPIRY_S = 60.0
HEARTBEAT_LIMIT = 1000


@dataclass(frozen=True)
class Outcome:
    """What one result did to its check (a row of ``record_check_results``)."""

    check_id: uuid.UUID
    state: str
    previous_state: str
    recheck_location_id: int | None
    alert_id: uuid.UUID | None
    incident_id: uuid.UUID | None


@dataclass(frozen=True)
class DispatchReport:
    claimed: int
    batches: int
    heartbeats: int


@dataclass(frozen=True)
class BatchReport:
    ran: int
    skipped: int
    outcomes: list[Outcome]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- recording


def record_results(
    results: Iterable[tuple[uuid.UUID | str, int | None, CheckResult]],
) -> list[Outcome]:
    """Write ``(check_id, location_id, result)`` triples in one call, and follow up.

    Follow-ups (re-checks from another location, an immediate escalation sweep for a new
    incident) are sent after the transaction commits, so a worker never acts on results
    that were rolled back.
    """
    payload = [
        {
            "check_id": str(check_id),
            "location_id": location_id,
            "checked_at": result.checked_at.isoformat(),
            "status": result.status,
            "response_time_ms": result.response_time_ms,
            "reason": result.reason,
        }
        for check_id, location_id, result in results
    ]
    if not payload:
        return []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT check_id, state, previous_state, recheck_location_id, alert_id, incident_id"
            " FROM record_check_results(%s::jsonb)",
            [json.dumps(payload)],
        )
        outcomes = [Outcome(*row) for row in cursor.fetchall()]
        if any(o.recheck_location_id or o.incident_id for o in outcomes):
            transaction.on_commit(lambda: follow_up(outcomes))
    return outcomes


def follow_up(outcomes: Sequence[Outcome]) -> None:
    """Send re-checks for first failures, and page at once for new incidents."""
    rechecks = [o for o in outcomes if o.recheck_location_id]
    if rechecks:
        queues = dict(MonitoringLocation.objects.values_list("id", "queue"))
        now = _now().isoformat()
        for outcome in rechecks:
            queue = queues.get(outcome.recheck_location_id)
            if queue:
                _send(queue, outcome.recheck_location_id, [[str(outcome.check_id), now]])
    if any(o.incident_id for o in outcomes):
        try:
            from incidents.tasks import run_escalation_sweep

            run_escalation_sweep.apply_async(queue="notifications", expires=30)
        except Exception:
            # Beat's next sweep pages instead; the incident itself is committed.
            log.warning("could not kick the escalation sweep", exc_info=True)


# --------------------------------------------------------------------------- dispatching


def _send(
    queue: str,
    location_id: int,
    items: list[list[str]],
    eta: dt.datetime | None = None,
    producer: Any = None,
) -> None:
    from alert24.celery import app

    expires = (eta or _now()) + dt.timedelta(seconds=MESSAGE_EXPIRY_S)
    app.send_task(
        RUN_CHECKS_TASK,
        args=[location_id, items],
        queue=queue,
        eta=eta,
        expires=expires,
        producer=producer,
    )


def dispatch_due_checks(
    *,
    horizon_s: float = DISPATCH_HORIZON_S,
    limit: int = DISPATCH_LIMIT,
    batch_size: int = BATCH_SIZE,
    heartbeats: bool = True,
) -> DispatchReport:
    """Claim due schedule rows and send them to their locations' queues in batches.

    Batches are cut per location and per second of scheduled time, so a worker gets
    each second's checks as one message, released (``eta``) when that second starts.
    """
    from alert24.celery import app

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT check_id, location_id, queue, scheduled_at FROM claim_due_checks(%s, %s)",
            [limit, horizon_s],
        )
        rows = cursor.fetchall()
    groups: dict[tuple[str, int, float], list[list[str]]] = defaultdict(list)
    for check_id, location_id, queue, scheduled_at in rows:
        slot = scheduled_at.timestamp() // SLOT_S * SLOT_S
        groups[(queue, location_id, slot)].append([str(check_id), scheduled_at.isoformat()])
    now = _now().timestamp()
    sent = 0
    if groups:
        with app.producer_or_acquire() as producer:
            for (queue, location_id, slot), items in sorted(groups.items()):
                eta = dt.datetime.fromtimestamp(slot, dt.UTC) if slot > now + 0.05 else None
                for start in range(0, len(items), batch_size):
                    _send(queue, location_id, items[start : start + batch_size], eta, producer)
                    sent += 1
    evaluated = evaluate_heartbeats() if heartbeats else 0
    return DispatchReport(claimed=len(rows), batches=sent, heartbeats=evaluated)


# --------------------------------------------------------------------------- running


def _parse_items(items: Sequence[Sequence[str]]) -> dict[uuid.UUID, dt.datetime]:
    scheduled: dict[uuid.UUID, dt.datetime] = {}
    for check_id, at in items:
        scheduled[uuid.UUID(str(check_id))] = dt.datetime.fromisoformat(at)
    return scheduled


async def _run_one(
    check: MonitoringCheck,
    at: dt.datetime,
    semaphore: asyncio.Semaphore,
    allow_private: bool,
) -> tuple[uuid.UUID, CheckResult]:
    wait = (at - _now()).total_seconds()
    if wait > 0:
        await asyncio.sleep(min(wait, SLOT_S * 5))
    async with semaphore:
        started = _now()
        try:
            result = await asyncio.wait_for(
                run_check(check.check_type, check.run_config(), allow_private=allow_private),
                timeout=check.timeout_seconds + WORKER_DEADLINE_MARGIN_S,
            )
        except TimeoutError:
            result = down(
                f"check did not finish within {check.timeout_seconds:g} s (worker deadline)",
                error="internal_error",
            )
        except Exception as exc:  # run_check never raises; this is the last line of defence
            log.exception("check %s crashed the worker's runner", check.pk)
            result = down(
                f"check failed unexpectedly: {type(exc).__name__}", error="internal_error"
            )
    # A result is dated when its run started: that is the moment it describes, and what
    # lateness is measured against.
    result.checked_at = started
    return check.pk, result


async def _run_all(
    checks: Sequence[MonitoringCheck],
    scheduled: dict[uuid.UUID, dt.datetime],
    concurrency: int,
    allow_private: bool,
) -> list[tuple[uuid.UUID, CheckResult]]:
    semaphore = asyncio.Semaphore(max(1, concurrency))
    return await asyncio.gather(
        *(_run_one(c, scheduled[c.pk], semaphore, allow_private) for c in checks)
    )


_local = threading.local()


def _runner() -> asyncio.Runner:
    """One event loop per worker thread, kept across batches.

    A fresh loop per batch would also rebuild the HTTP clients bound to it (their TLS
    contexts load the CA bundle): ~0.1 s of CPU per batch, more than a second's worth of
    checks. The clients keep no idle connections, so nothing else outlives a batch.
    """
    runner = getattr(_local, "runner", None)
    if runner is None:
        runner = _local.runner = asyncio.Runner()
        atexit.register(_close_runner, runner)
    return runner


def _close_runner(runner: asyncio.Runner) -> None:
    with contextlib.suppress(Exception):
        runner.run(close_shared_clients())
    runner.close()


def run_batch(location_id: int, items: Sequence[Sequence[str]]) -> BatchReport:
    """Run a batch of ``[check_id, scheduled_at_iso]`` from one location; record results.

    Paused, deleted and heartbeat checks in the batch are skipped. Runs as the schema
    owner (the documented system path): the batch spans organizations.
    """
    scheduled = _parse_items(items)
    checks = list(
        MonitoringCheck.objects.filter(pk__in=scheduled, is_paused=False)
        .exclude(check_type="heartbeat")
        .only("id", "check_type", "config", "interval_seconds", "timeout_seconds")
    )
    if not checks:
        return BatchReport(ran=0, skipped=len(scheduled), outcomes=[])
    pairs = _runner().run(
        _run_all(
            checks,
            scheduled,
            concurrency=settings.MONITORING_CHECK_CONCURRENCY,
            allow_private=settings.MONITORING_ALLOW_PRIVATE_TARGETS,
        )
    )
    outcomes = record_results((check_id, location_id, result) for check_id, result in pairs)
    return BatchReport(ran=len(pairs), skipped=len(scheduled) - len(pairs), outcomes=outcomes)


def run_now(check: MonitoringCheck, location: MonitoringLocation | None = None) -> Outcome | None:
    """Run one check right now from ``location`` (its first one by default) and record it.

    For the admin's "run now"; heartbeats are evaluated instead. None for a paused
    heartbeat (nothing to evaluate).
    """
    if check.check_type == "heartbeat":
        outcomes = evaluate_heartbeats(only=[check.pk], force=True, return_outcomes=True)
        return outcomes[0] if outcomes else None
    location = location or check.locations.order_by("code").first()
    location_id = location.pk if location else None
    report_items = [[str(check.pk), _now().isoformat()]]
    scheduled = _parse_items(report_items)
    (pair,) = _runner().run(
        _run_all(
            [check],
            scheduled,
            concurrency=1,
            allow_private=settings.MONITORING_ALLOW_PRIVATE_TARGETS,
        )
    )
    return record_results([(pair[0], location_id, pair[1])])[0]


# --------------------------------------------------------------------------- heartbeats

_HEARTBEAT_STATE = (
    "SELECT c.id, c.config, c.last_ping_at, c.created_at, c.last_fail_at FROM monitoring_checks c"
)


def _heartbeat_results(rows: Sequence[tuple], now: dt.datetime) -> list[tuple]:
    async def _evaluate() -> list[CheckResult]:
        return [
            await run_check(
                "heartbeat",
                # Django's psycopg setup hands jsonb to raw cursors as text.
                json.loads(config) if isinstance(config, str) else config,
                last_ping_at=last_ping_at,
                created_at=created_at,
                last_fail_at=last_fail_at,
                now=now,
            )
            for _id, config, last_ping_at, created_at, last_fail_at in rows
        ]

    results = asyncio.run(_evaluate())
    return [(row[0], None, result) for row, result in zip(rows, results, strict=True)]


def evaluate_heartbeats(
    *, only: Sequence[uuid.UUID] | None = None, force: bool = False, return_outcomes: bool = False
) -> Any:
    """Record a result for every heartbeat check whose beat is overdue.

    Overdue = last ping (or creation) + period + grace has passed. A check that is still
    up is evaluated at once; one already failing again every ``interval_seconds``, so
    downtime accumulates in the statistics and the failure threshold can be reached.
    Rows are locked (SKIP LOCKED) so a ping arriving meanwhile is applied after this
    result, never overwritten by it. Returns the number evaluated (or the outcomes).
    """
    conditions = ["c.check_type = 'heartbeat'", "NOT c.is_paused"]
    params: list[Any] = []
    if only is not None:
        conditions.append("c.id = ANY(%s)")
        params.append(list(only))
    if not force:
        conditions.append("heartbeat_due_at(c.config, c.last_ping_at, c.created_at) <= now()")
        conditions.append(
            "(c.state NOT IN ('down', 'unconfirmed_down') OR c.last_checked_at IS NULL"
            " OR c.last_checked_at <= now() - make_interval(secs => c.interval_seconds))"
        )
    sql = (
        f"{_HEARTBEAT_STATE} WHERE {' AND '.join(conditions)}"
        " ORDER BY c.id LIMIT %s FOR UPDATE SKIP LOCKED"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [*params, HEARTBEAT_LIMIT])
        rows = cursor.fetchall()
        if not rows:
            return [] if return_outcomes else 0
        cursor.execute("SELECT now()")
        (now,) = cursor.fetchone()
        outcomes = record_results(_heartbeat_results(rows, now))
    return outcomes if return_outcomes else len(rows)


def record_ping(check_id: uuid.UUID | str, *, fail: bool = False) -> Outcome | None:
    """A heartbeat ping (or the job's own failure signal) arrived: store it and evaluate.

    Call inside the check's organization scope (the heartbeat view does). Returns None
    when the check does not exist (or is not visible in this scope).
    """
    column = "last_fail_at" if fail else "last_ping_at"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE monitoring_checks c SET {column} = now()"  # noqa: S608 - fixed names
            " WHERE c.id = %s AND c.check_type = 'heartbeat'"
            " RETURNING c.id, c.config, c.last_ping_at, c.created_at, c.last_fail_at,"
            " c.is_paused, now()",
            [str(check_id)],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        *state, paused, now = row
        if paused:
            return None
        (outcome,) = record_results(_heartbeat_results([tuple(state)], now))
    return outcome
