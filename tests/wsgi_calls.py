"""Calling a WSGI front door directly, and Django's handler behind it, counting its calls."""

from __future__ import annotations

import io

from django.core.handlers.wsgi import WSGIHandler


class CountingDjango:
    """Django's own WSGI handler, counting the requests that reach it."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


def call(
    app,
    path: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    content_type: str = "",
    host: str = "127.0.0.1",
    **headers: str,
) -> tuple[str, dict, bytes]:
    """(status line, headers, body) of one request through ``app``; the result is closed,
    as a WSGI server closes it (Django's request-finished signal runs then)."""
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": host,
        "SERVER_PORT": "80", "HTTP_HOST": host, "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(), "SERVER_PROTOCOL": "HTTP/1.1",
        **({"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body))} if body else {}),
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }  # fmt: skip
    answer: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(response_headers)

    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return answer["status"], answer["headers"], content
