"""Concurrent events of one web process share a transaction (group commit).

An event is durable before its 202 goes out, so each one used to pay a whole commit: on
the 2-core reference machine that was half of PostgreSQL's CPU per event (WAL flush,
deferred foreign-key checks, transaction bookkeeping), and the flush wait besides. Here
the request threads hand their events to one writer thread per process, which applies
whatever has queued up meanwhile in a single statement and a single commit, then wakes
each thread with its own result. A lone event goes out at once (no timer, no added
latency); under load the batches grow by themselves, up to ``MAX_BATCH``.

Nothing about an event's meaning changes: each still runs ``apply_integration_event()``
for its own key, organization and row-level security, the caller still gets its answer
only after the commit, and concurrent events with one dedup key still make one incident
(as they did from separate transactions). If a batch fails as a whole (a deadlock with
another process's batch, a constraint one event trips), every event of it is applied
again alone, so one bad event is an error for its own request only.

Only callers outside a transaction are batched: inside one (the normal request stack,
tests) the event must belong to the caller's transaction, and runs there directly.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field

from django.db import close_old_connections, connection, transaction

log = logging.getLogger(__name__)

MAX_BATCH = 64

# The batch as one statement: the arrays are the events' parameters, in order, and each
# row calls the same function a single event calls.
BATCH_SQL = """
SELECT e.n, r.outcome, r.incident, r.opened
FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
            %s::text[], %s::text[], %s::text[])
     WITH ORDINALITY AS e(integration_key, action, dedup_key, title, severity, source,
                          details, description, reason, n)
CROSS JOIN LATERAL apply_integration_event(
    %s, e.integration_key, e.action, e.dedup_key, e.title, e.severity, e.source,
    e.details::jsonb, e.description, e.reason) r
ORDER BY e.n
"""

SINGLE_SQL = (
    "SELECT outcome, incident, opened FROM apply_integration_event("
    "%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s)"
)

# integration_key, action, dedup_key, title, severity, source, details (JSON), description,
# reason: the parameters of apply_integration_event() after the role.
Event = tuple[str, str, str | None, str, str, str, str, str, str | None]
Row = tuple[str, object, bool]


@dataclass
class _Waiting:
    event: Event
    done: threading.Event = field(default_factory=threading.Event)
    row: Row | None = None
    error: BaseException | None = None


_STOP = _Waiting(("", "", None, "", "", "", "", "", None))


class GroupCommit:
    """One writer thread per process, started on first use (so after a fork)."""

    def __init__(self, app_role: str) -> None:
        self.app_role = app_role
        self.waiting: queue.SimpleQueue[_Waiting] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.writer: threading.Thread | None = None

    def apply(self, event: Event) -> Row:
        """Apply ``event`` in the next shared transaction; returns after its commit."""
        waiting = _Waiting(event)
        self._start()
        self.waiting.put(waiting)
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error
        assert waiting.row is not None
        return waiting.row

    def _start(self) -> None:
        if self.writer is not None and self.writer.is_alive():
            return
        with self.lock:
            if self.writer is None or not self.writer.is_alive():
                self.writer = threading.Thread(
                    target=self._write_forever, name="events-group-commit", daemon=True
                )
                self.writer.start()

    def stop(self) -> None:
        """Let the writer finish what is queued, close its connection and exit."""
        writer = self.writer
        if writer is not None and writer.is_alive():
            self.waiting.put(_STOP)
            writer.join()

    def _write_forever(self) -> None:
        while True:
            first = self.waiting.get()
            if first is _STOP:
                connection.close()
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    waiting = self.waiting.get_nowait()
                except queue.Empty:
                    break
                if waiting is _STOP:
                    self.waiting.put(_STOP)  # after this batch
                    break
                batch.append(waiting)
            try:
                self.write(batch)
            except BaseException as error:  # never leave a request thread waiting
                log.exception("events group commit failed")
                for waiting in batch:
                    if not waiting.done.is_set():
                        waiting.error = error
                        waiting.done.set()

    def write(self, batch: list[_Waiting]) -> None:
        """Apply ``batch`` in one transaction, or each event alone if that fails."""
        close_old_connections()  # CONN_MAX_AGE and broken connections, as per request
        if len(batch) > 1:
            try:
                rows = self._write_together([waiting.event for waiting in batch])
            except Exception:
                log.info("events batch of %d failed; applying one by one", len(batch))
                connection.close_if_unusable_or_obsolete()
            else:
                for waiting, row in zip(batch, rows, strict=True):
                    waiting.row = row
                    waiting.done.set()
                return
        for waiting in batch:
            try:
                with connection.cursor() as cursor:
                    cursor.execute(SINGLE_SQL, [self.app_role, *waiting.event])
                    waiting.row = cursor.fetchone()
            except Exception as error:
                waiting.error = error
                connection.close_if_unusable_or_obsolete()
            waiting.done.set()

    def _write_together(self, events: list[Event]) -> list[Row]:
        columns = [list(column) for column in zip(*events, strict=True)]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(BATCH_SQL, [*columns, self.app_role])
            rows = cursor.fetchall()
        if [row[0] for row in rows] != list(range(1, len(events) + 1)):
            raise RuntimeError("events batch returned rows out of order")
        return [tuple(row[1:]) for row in rows]
