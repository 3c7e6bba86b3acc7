"""The Events API inbox: an event is accepted with one insert and applied moments later in
batches (``sql/event_inbox.sql``).

PagerDuty answers ``202 Event processed`` once the event is safely queued, not once an
incident exists; we do the same. The 202 costs one row and one commit. Applying costs a
transaction per batch rather than per event, which is most of what an event used to cost
on two cores: the commit, the WAL flush and the trigger queue.

Who applies: the web process that accepted an event wakes its applier thread at once, so an
incident normally exists a few milliseconds after the 202. The database lets one applier
work at a time (an advisory lock), so a routing key's events apply in the order they were
accepted. Beat runs ``incidents.apply_event_inbox`` every 30 s as the safety net for a
process that died between accepting and applying. Neither Redis nor a Celery worker is on
the accept path: an event accepted while either is down waits in PostgreSQL, not in memory.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref

import psycopg
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from psycopg import pq

from incidents import lifecycle

log = logging.getLogger(__name__)

BATCH = 500
IDLE_POLL_SECONDS = 5.0  # an idle process still looks for events another one left behind
GATHER_SECONDS = 0.01


def accept(
    integration_key: str,
    action: str,
    *,
    dedup_key: str | None,
    title: str = "",
    severity: str = "",
    details: dict | None = None,
    reason: str | None = None,
) -> bool:
    """Store one event durably (committed when this returns: call it outside a
    transaction); False if no integration has the key, and then nothing is written.

    Each accept commits on its own. Handing concurrent accepts to one writer thread to
    share a commit (group commit) was tried: it saved PostgreSQL a little and cost Python
    more in thread hand-offs, fewer events/s on two cores. This is the ingest hot path, so
    it talks to psycopg directly on Django's connection: a prepared statement with
    server-side parameters, without the cursor wrapper's bookkeeping and per-call health
    check (a connection the server closed while idle fails the statement, which is then
    retried once on a new connection; a retried accept can at worst store the event twice,
    and a second identical trigger folds into the first).
    """
    params = [
        integration_key, action, dedup_key, title, severity, json.dumps(details or {}), reason
    ]  # fmt: skip
    _close_if_obsolete()
    try:
        accepted = _accept_now(params)
    except psycopg.Error:
        raw = connection.connection
        if raw is not None and raw.pgconn.status == pq.ConnStatus.OK:
            raise  # the statement failed, not the connection
        connection.close()
        accepted = _accept_now(params)
    if accepted:
        applier.wake()
    return accepted


_ACCEPT_STATEMENT = b"alert24_accept_integration_event"
_ACCEPT_SQL = b"SELECT accept_integration_event($1, $2, $3, $4, $5, $6::jsonb, $7)"
_prepared_on: weakref.WeakSet = weakref.WeakSet()  # connections holding the statement


def _accept_now(params: list) -> bool:
    """One call into libpq: psycopg's cursor machinery (adapting, result conversion) cost
    as much Python as the rest of the request."""
    connection.ensure_connection()
    raw = connection.connection
    if raw not in _prepared_on:
        _check(raw, raw.pgconn.prepare(_ACCEPT_STATEMENT, _ACCEPT_SQL), pq.ExecStatus.COMMAND_OK)
        _prepared_on.add(raw)
    values = [None if value is None else value.encode() for value in params]
    result = raw.pgconn.exec_prepared(_ACCEPT_STATEMENT, values)
    _check(raw, result, pq.ExecStatus.TUPLES_OK)
    return result.get_value(0, 0) is not None


def _check(raw: psycopg.Connection, result: pq.abc.PGresult, expected: pq.ExecStatus) -> None:
    if result.status != expected:
        raise psycopg.errors.error_from_result(result, encoding=raw.info.encoding)


_housekeeping = threading.local()


def _close_if_obsolete() -> None:
    """What Django does at each request's start and end (``close_old_connections``: drop a
    connection past ``CONN_MAX_AGE`` or left broken), once a second per thread."""
    now = time.monotonic()
    if now - getattr(_housekeeping, "at", 0.0) >= 1.0:
        _housekeeping.at = now
        connection.close_if_unusable_or_obsolete()


def apply_waiting(limit: int = BATCH) -> dict[str, int]:
    """Apply waiting events, a batch per transaction, until none are left.

    Waits while another applier holds the lock, then applies what it left. Pages go out at
    once for the incidents opened (one escalation kick per batch, not per event).
    """
    totals = {"applied": 0, "opened": 0, "failed": 0}
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT applied, opened, failed FROM apply_event_inbox(%s, %s)",
                [settings.DATABASE_APP_ROLE, limit],
            )
            applied, opened, failed = cursor.fetchone()
        totals["applied"] += applied
        totals["opened"] += opened
        totals["failed"] += failed
        if opened:
            lifecycle.kick_escalation_sweep()
        if applied + failed < limit:
            return totals


class Applier:
    """The per-process thread that applies what this process accepted, right away."""

    def __init__(self) -> None:
        self.wanted = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.stopping = False

    def wake(self) -> None:
        self.wanted.set()
        if self.thread is None or not self.thread.is_alive():
            with self.lock:
                if self.thread is None or not self.thread.is_alive():
                    self.stopping = False
                    self.thread = threading.Thread(
                        target=self.run, name="event-inbox-applier", daemon=True
                    )
                    self.thread.start()

    def stop(self) -> None:
        """Finish the batch in hand, close the thread's connection and end the thread (a
        later :meth:`wake` starts a new one)."""
        thread = self.thread
        if thread is not None and thread.is_alive():
            self.stopping = True
            self.wanted.set()
            thread.join()

    def run(self) -> None:
        while not self.stopping:
            if self.wanted.wait(IDLE_POLL_SECONDS) and not self.stopping:
                # Let the events of the next few milliseconds join the batch: a batch
                # costs one transaction however many events it holds.
                time.sleep(GATHER_SECONDS)
            self.wanted.clear()
            if self.stopping:
                break
            try:
                close_old_connections()
                apply_waiting()
            except Exception:
                # The events stay in the inbox: the next wake, poll or beat retries them.
                log.exception("applying waiting events failed")
                connection.close()
                time.sleep(1.0)
        connection.close()


applier = Applier()
