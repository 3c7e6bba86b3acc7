"""An incident's timeline as the incident page shows it: rows and deliveries, newest first.

The page (and its live fragment, polled every few seconds by every open incident page)
reads the newest N entries of two tables merged: ``incident_updates`` and
``notification_history``. A finished delivery also writes a "notification" row; the
delivery row carries the same facts with its live status, so that duplicate is left out
while its delivery row exists (retention deletes old deliveries, and then the row is the
record). One SQL statement does the merge: the ORM spelling of the same (an ``Exists``
over a cast, a join for the names, model instances per row) cost three times the CPU of
the whole rest of the timeline, compiling and instantiating on every refresh.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from incidents import alert_details
from incidents.models import IncidentUpdate, NotificationHistory

# Duplicate events on the timeline that show what they carried (newest first); older ones
# keep their one-line message, so a noisy source cannot make the page huge.
EVENT_DETAILS = 20
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
KIND_LABELS = dict(IncidentUpdate.Kind.choices)
DELIVERY_LABELS = dict(NotificationHistory.Status.choices)

# The newest ``limit`` of each kind (each from its (incident, time) index), merged. A
# "notification" row whose delivery row exists is that delivery's duplicate.
ENTRIES_SQL = """
WITH deliveries AS (
    SELECT coalesce(d.sent_at, d.created_at) AS at, 'delivery' AS kind, '' AS message,
           d.user_id, d.channel, d.target, d.status, d.attempts, d.error,
           NULL::jsonb AS metadata
      FROM notification_history d
     WHERE d.incident_id = %(incident)s
     ORDER BY coalesce(d.sent_at, d.created_at) DESC, d.created_at DESC
     LIMIT %(limit)s
), updates AS (
    SELECT u.created_at, u.update_type, u.message, u.user_id, '', '', '', 0, '', u.metadata
      FROM incident_updates u
     WHERE u.incident_id = %(incident)s
       AND NOT (u.update_type = 'notification' AND EXISTS (
             SELECT 1 FROM notification_history d
              WHERE d.incident_id = u.incident_id AND d.id::text = u.metadata->>'history'))
     ORDER BY u.created_at DESC
     LIMIT %(limit)s
)
SELECT e.at, e.kind, e.message, e.channel, e.target, e.status, e.attempts, e.error,
       e.metadata, coalesce(nullif(p.full_name, ''), p.email)
  FROM (SELECT * FROM deliveries UNION ALL SELECT * FROM updates) e
  LEFT JOIN users p ON p.id = e.user_id
 ORDER BY e.at DESC
"""

COUNT_SQL = """
SELECT (SELECT count(*) FROM notification_history WHERE incident_id = %(incident)s)
     + (SELECT count(*) FROM incident_updates u
         WHERE u.incident_id = %(incident)s
           AND NOT (u.update_type = 'notification' AND EXISTS (
                 SELECT 1 FROM notification_history d
                  WHERE d.incident_id = u.incident_id
                    AND d.id::text = u.metadata->>'history')))
"""


@dataclass
class TimelineEntry:
    at: dt.datetime
    kind: str
    label: str
    message: str
    user: str  # who: the person's name (or e-mail), "" for the system
    channel: str = ""
    target: str = ""
    delivery_status: str = ""
    delivery_status_label: str = ""
    attempts: int = 0
    error: str = ""
    details: alert_details.AlertDetails | None = None
    at_iso: str = ""
    at_label: str = ""


@dataclass
class Timeline:
    entries: list[TimelineEntry]
    total: int
    showing_all: bool

    @property
    def more(self) -> int:
        return self.total - len(self.entries)


def read(incident_id: uuid.UUID, limit: int, *, showing_all: bool = False) -> Timeline:
    """The newest ``limit`` entries; counting all of them only when there are more.

    Runs under the request's row-level security like any ORM query. Times are in the
    current time zone (the responder's), formatted here: the template's date filter costs
    tens of microseconds a call, twice per entry.
    """
    params = {"incident": incident_id, "limit": limit + 1}
    with connection.cursor() as cursor:
        cursor.execute(ENTRIES_SQL, params)
        rows = cursor.fetchall()
        deliveries = sum(1 for row in rows if row[1] == "delivery")
        if deliveries > limit or len(rows) - deliveries > limit:
            cursor.execute(COUNT_SQL, params)
            total = cursor.fetchone()[0]
        else:
            total = len(rows)
    entries = []
    described = 0
    for at, kind, message, channel, target, status, attempts, error, metadata, who in rows:
        if len(entries) == limit:
            break
        local = timezone.localtime(at)
        entry = TimelineEntry(
            at=at,
            kind=kind,
            label="Notification" if kind == "delivery" else KIND_LABELS.get(kind, kind),
            message=message,
            user=who or "",
            at_iso=local.isoformat(),
            at_label=f"{MONTHS[local.month - 1]} {local.day}, {local:%H:%M:%S}",
        )
        if kind == "delivery":
            entry.channel, entry.target, entry.error = channel, target, error
            entry.attempts = attempts
            entry.delivery_status = status
            entry.delivery_status_label = DELIVERY_LABELS.get(status, status)
            entries.append(entry)
            continue
        # Django reads jsonb as text and decodes it in the field; a raw cursor gets the text.
        metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
        if isinstance(metadata, dict):
            entry.channel = str(metadata.get("channel", ""))
            if kind == IncidentUpdate.Kind.DEDUP and described < EVENT_DETAILS:
                entry.details = alert_details.describe_update(metadata)
                described += entry.details is not None
        entries.append(entry)
    return Timeline(entries, total, showing_all)
