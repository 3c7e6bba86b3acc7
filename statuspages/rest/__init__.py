"""REST API for status pages (``/api/v1/``): pages, components, incidents, maintenance,
subscribers.

Not to be confused with ``statuspages/api.py``, the public Statuspage-compatible JSON that
each page serves to anonymous readers; this package is the authenticated management API.
"""
