"""Response-time charts as inline SVG, drawn on the server.

No JavaScript charting library and no build step: a sparkline is one ``<polyline>`` per
run of consecutive values, a chart adds a p95 line, red marks for failed runs and two
axis labels. Every piece of text that reaches the SVG is escaped here; the numbers are
formatted by us. Gaps (hours without results) break the line rather than being drawn as
zero, so a quiet hour never looks like a fast one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


@dataclass(frozen=True)
class Point:
    """One x position of a chart: a time, a response time (None: no data) and more."""

    at: dt.datetime
    ms: float | None
    p95_ms: float | None = None
    failed: bool = False
    label: str = ""


def _runs(coords: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Split at gaps: each run of consecutive known values becomes its own line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for coord in coords:
        if coord is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(coord)
    return [run for run in runs if run]


def _polylines(coords: Sequence[tuple[float, float] | None], css: str) -> str:
    parts = []
    for run in _runs(coords):
        if len(run) == 1:  # a lone value still shows, as a dot
            x, y = run[0]
            parts.append(f'<circle class="{css}" cx="{x:.1f}" cy="{y:.1f}" r="1.5"/>')
        else:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            parts.append(f'<polyline class="{css}" points="{points}"/>')
    return "".join(parts)


def _scale(values: Sequence[float | None]) -> float:
    known = [v for v in values if v is not None]
    return max(max(known, default=0.0), 1.0)


def sparkline(values: Sequence[float | None], *, label: str) -> SafeString:
    """A 96x24 line of ``values`` (oldest first), or a flat "no data" line."""
    width, height, pad = 96.0, 24.0, 2.0
    top = _scale(values)
    step = width / max(len(values) - 1, 1)
    coords = [
        None if v is None else (i * step, height - pad - (v / top) * (height - 2 * pad))
        for i, v in enumerate(values)
    ]
    body = _polylines(coords, "line")
    if not body:
        body = f'<line class="nodata" x1="0" y1="{height / 2}" x2="{width}" y2="{height / 2}"/>'
    return mark_safe(  # noqa: S308 - numbers we formatted, and an escaped label
        f'<svg class="spark" viewBox="0 0 {width:.0f} {height:.0f}" width="96" height="24"'
        f' role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>{body}</svg>'
    )


def _time_label(at: dt.datetime, span: dt.timedelta) -> str:
    return at.strftime("%b %-d %H:%M" if span > dt.timedelta(hours=24) else "%H:%M")


def response_chart(points: Sequence[Point], *, label: str) -> SafeString:
    """A 720x180 chart: average (or each run's) response time, p95, failed runs in red.

    Times are drawn in the current time zone (the page's), oldest on the left.
    """
    from django.utils import timezone

    width, height = 720.0, 180.0
    left, right, top_pad, bottom = 48.0, 8.0, 8.0, 22.0
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    if not points:
        return mark_safe(  # noqa: S308
            f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" role="img"'
            f' aria-label="{escape(label)}: no data"><text x="{width / 2}" y="{height / 2}"'
            ' text-anchor="middle" class="axis">No results yet</text></svg>'
        )
    top = _scale([*(p.ms for p in points), *(p.p95_ms for p in points)]) * 1.1
    start, end = points[0].at, points[-1].at
    span = max((end - start).total_seconds(), 1.0)

    def x_of(at: dt.datetime) -> float:
        return left + (at - start).total_seconds() / span * plot_w if len(points) > 1 else left

    def y_of(ms: float) -> float:
        return top_pad + plot_h - ms / top * plot_h

    avg = [None if p.ms is None else (x_of(p.at), y_of(p.ms)) for p in points]
    p95 = [None if p.p95_ms is None else (x_of(p.at), y_of(p.p95_ms)) for p in points]
    marks = []
    for p in points:
        if p.failed:
            x = x_of(p.at)
            title = f"<title>{escape(p.label)}</title>" if p.label else ""
            marks.append(
                f'<rect class="fail" x="{x - 1.5:.1f}" y="{top_pad}" width="3"'
                f' height="{plot_h:.0f}">{title}</rect>'
            )
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    axis = (
        f'<line class="grid" x1="{left}" y1="{top_pad}" x2="{width - right}" y2="{top_pad}"/>'
        f'<line class="grid" x1="{left}" y1="{top_pad + plot_h / 2}" x2="{width - right}"'
        f' y2="{top_pad + plot_h / 2}"/>'
        f'<line class="axisline" x1="{left}" y1="{top_pad + plot_h}" x2="{width - right}"'
        f' y2="{top_pad + plot_h}"/>'
        f'<text class="axis" x="{left - 4}" y="{top_pad + 8}" text-anchor="end">'
        f"{top:.0f} ms</text>"
        f'<text class="axis" x="{left - 4}" y="{top_pad + plot_h / 2 + 4}" text-anchor="end">'
        f"{top / 2:.0f} ms</text>"
        f'<text class="axis" x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end">0</text>'
        f'<text class="axis" x="{left}" y="{height - 6}">'
        f"{escape(_time_label(local_start, end - start))}</text>"
        f'<text class="axis" x="{width - right}" y="{height - 6}" text-anchor="end">'
        f"{escape(_time_label(local_end, end - start))}</text>"
    )
    body = "".join(marks) + _polylines(p95, "p95") + _polylines(avg, "line")
    return mark_safe(  # noqa: S308
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" role="img"'
        f' aria-label="{escape(label)}"><title>{escape(label)}</title>{axis}{body}</svg>'
    )
