"""Small SVG badges (shields.io style) for a page's status and a component's uptime.

Text is XML-escaped (a component may be named anything) and each badge carries a
``<title>`` and ``role="img"``/``aria-label``, so it reads the same without colour.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

COLOURS = {
    "operational": "#2e7d32",
    "none": "#2e7d32",
    "degraded_performance": "#b26a00",
    "minor": "#b26a00",
    "partial_outage": "#d84315",
    "major": "#d84315",
    "major_outage": "#c62828",
    "critical": "#c62828",
    "under_maintenance": "#1565c0",
    "maintenance": "#1565c0",
    "unknown": "#616161",
}


def _width(text: str) -> int:
    # ~6.5 px per character of 11 px Verdana, plus padding; no font metrics needed.
    return int(len(text) * 6.5) + 12


def badge(label: str, value: str, colour_key: str) -> str:
    """An SVG badge ``label | value`` coloured by ``colour_key``."""
    colour = COLOURS.get(colour_key, COLOURS["unknown"])
    left, right = _width(label), _width(value)
    total = left + right
    label_x, value_x = left / 2, left + right / 2
    text = escape(f"{label}: {value}", {'"': "&quot;"})
    label_e, value_e = escape(label), escape(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img"'
        f' aria-label="{text}"><title>{escape(f"{label}: {value}")}</title>'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif"'
        ' font-size="11">'
        f'<text x="{label_x:.1f}" y="14">{label_e}</text>'
        f'<text x="{value_x:.1f}" y="14">{value_e}</text></g></svg>'
    )


def uptime_colour(percentage) -> str:
    if percentage is None:
        return "unknown"
    if percentage >= 99.9:
        return "operational"
    if percentage >= 99:
        return "degraded_performance"
    if percentage >= 95:
        return "partial_outage"
    return "major_outage"
