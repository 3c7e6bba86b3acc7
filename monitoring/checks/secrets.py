"""Secrets in a check's configuration: write-only, as Pingdom and Checkly treat them.

A check may carry credentials for the site it probes: ``basic_auth_password`` and request
headers such as ``Authorization: Bearer …``. Anyone who can read the check (a read-only
API key, a dashboard script) must not be able to lift them, so reads show them masked and
writes that send the mask back keep what is stored. A client can therefore read a check,
change one setting and write the whole thing back without knowing, or destroying, the
secrets in it.

Which headers are secret: the credential headers HTTP defines (``Authorization``,
``Proxy-Authorization``, ``Cookie``) and every header whose name contains ``auth``,
``token``, ``secret``, ``key``, ``password``, ``passwd``, ``cookie``, ``session``,
``signature`` or ``credential`` (case-insensitive), which covers ``X-Api-Key``,
``X-Auth-Token``, ``Api-Key``, ``X-Hub-Signature`` and the like. Masking a harmless header
by mistake costs a little convenience; showing a secret one costs the credential. Other
headers (``Accept``, ``User-Agent``, ``X-Request-Id``…) are shown as stored.

The check's ``url`` follows the same rule: the password of its userinfo
(``https://user:********@host/``, refused for new checks but possibly stored by older
ones) and the values of query parameters with a secret name (the header parts above, plus
``sig`` and ``pwd`` as whole words: ``?token=``, ``?api_key=``, ``?X-Amz-Signature=``,
``?sig=``) are masked, and a URL written back with the mask in one of those places keeps
the stored value of that place (a parameter by name and position among its namesakes).
Everything else in the URL is left byte for byte as stored, so a URL read and written back
is the stored one. The request ``body`` is shown as stored: its format is the check's own,
and masking it whole would hide every non-secret body too.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

MASK = "********"
# Never returned at all (kept when omitted on update); see ``monitoring.api.serializers``.
WRITE_ONLY_SETTINGS = ("basic_auth_password",)
_SECRET_HEADER_PARTS = (
    "auth",
    "token",
    "secret",
    "key",
    "password",
    "passwd",
    "cookie",
    "session",
    "signature",
    "credential",
)
_SECRET_PARAMETER_WORDS = frozenset({"sig", "pwd"})
_WORD = re.compile(r"[a-z0-9]+")


class MaskWithoutSecret(ValueError):
    """The mask was sent for a secret that is not stored, so there is nothing to keep."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


def is_secret_header(name: str) -> bool:
    """Whether a request header's value is a credential (see the module docstring)."""
    lowered = name.lower()
    return any(part in lowered for part in _SECRET_HEADER_PARTS)


def is_secret_parameter(name: str) -> bool:
    """Whether a URL query parameter's value is a credential (see the module docstring)."""
    lowered = name.lower()
    return is_secret_header(lowered) or bool(
        _SECRET_PARAMETER_WORDS.intersection(_WORD.findall(lowered))
    )


def _split_url(url: str) -> tuple[str, str | None, str, list[str] | None, str]:
    """``url`` as (start up to the password, password or None, rest of the authority and
    path, query pieces, fragment with its '#'), every part raw so joining gives ``url``."""
    before_fragment, hash_sign, fragment = url.partition("#")
    before_query, question_mark, query = before_fragment.partition("?")
    scheme, slashes, after = before_query.partition("://")
    if not slashes:
        start, password, rest = "", None, before_query
    else:
        authority, slash, path = after.partition("/")
        userinfo, at, host = authority.rpartition("@")
        user, colon, secret = userinfo.partition(":")
        if at and colon:
            start, password, rest = f"{scheme}://{user}:", secret, f"@{host}{slash}{path}"
        else:
            start, password, rest = "", None, before_query
    pieces = query.split("&") if question_mark else None
    return start, password, rest, pieces, hash_sign + fragment


def _join_url(
    start: str, password: str | None, rest: str, pieces: list[str] | None, end: str
) -> str:
    authority = start + password + rest if password is not None else rest
    query = "" if pieces is None else "?" + "&".join(pieces)
    return authority + query + end


def _parameter(piece: str) -> tuple[str, str | None]:
    """(decoded name, raw value or None when the piece has no '=')."""
    name, equals, value = piece.partition("=")
    return unquote_plus(name), value if equals else None


def masked_url(url: str) -> str:
    """``url`` with its userinfo password and secret query parameters' values masked."""
    start, password, rest, pieces, end = _split_url(url)
    if password:
        password = MASK
    shown = None if pieces is None else []
    for piece in pieces or ():
        name, value = _parameter(piece)
        if value and is_secret_parameter(name):
            piece = piece.partition("=")[0] + "=" + MASK
        shown.append(piece)
    return _join_url(start, password, rest, shown, end)


def restore_url(url: str, stored: str | None) -> str:
    """``url`` as written, with each masked place given the stored URL's value there.

    Raises :class:`MaskWithoutSecret` (for ``url``) when the stored URL has no value in
    that place.
    """
    if MASK not in url and "%2A" * 8 not in url.upper():
        return url
    start, password, rest, pieces, end = _split_url(url)
    _, old_password, _, old_pieces, _ = _split_url(stored or "")
    if password is not None and unquote_plus(password) == MASK:
        if not old_password:
            raise MaskWithoutSecret("url", "No password is stored for the URL: send the real one.")
        password = old_password
    old_values: dict[str, list[str]] = {}
    for piece in old_pieces or ():
        name, value = _parameter(piece)
        old_values.setdefault(name, []).append(value or "")
    seen: dict[str, int] = {}
    restored = None if pieces is None else []
    for piece in pieces or ():
        name, value = _parameter(piece)
        position = seen.get(name, 0)
        seen[name] = position + 1
        if value is not None and unquote_plus(value) == MASK:
            namesakes = old_values.get(name, [])
            if position >= len(namesakes) or not namesakes[position]:
                message = f"Query parameter '{name}' has no stored value: send the real one."
                raise MaskWithoutSecret("url", message)
            piece = piece.partition("=")[0] + "=" + namesakes[position]
        restored.append(piece)
    return _join_url(start, password, rest, restored, end)


def masked_config(config: dict[str, Any] | None, *, placeholders: bool = False) -> dict[str, Any]:
    """``config`` as readers may see it: secret headers and URL secrets masked.

    Write-only settings are left out, as the API documents; with ``placeholders`` (a form
    that is saved back whole, like the admin's) a stored one is shown as the mask instead,
    so saving the form untouched keeps it.
    """
    config = config or {}
    shown = {k: v for k, v in config.items() if k not in WRITE_ONLY_SETTINGS}
    if placeholders:
        shown.update({k: MASK for k in WRITE_ONLY_SETTINGS if config.get(k)})
    headers = shown.get("headers")
    if isinstance(headers, dict):
        shown["headers"] = {
            name: MASK if is_secret_header(name) else value for name, value in headers.items()
        }
    if isinstance(shown.get("url"), str):
        shown["url"] = masked_url(shown["url"])
    return shown


def restore_secrets(config: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """``config`` as written by a client, with every masked value replaced by the stored one.

    A header whose value is the mask keeps the stored value of the header with the same
    name (header names are case-insensitive); a header left out is removed, as any other
    setting would be. A masked place in the ``url`` keeps the stored URL's value there (see
    :func:`restore_url`). Raises :class:`MaskWithoutSecret` when the mask stands for a secret
    that is not stored: saving the mask itself as the credential would break the check
    silently.
    """
    stored = stored or {}
    restored = dict(config)
    for setting in WRITE_ONLY_SETTINGS:
        if restored.get(setting) == MASK:
            if not stored.get(setting):
                raise MaskWithoutSecret(setting, "No value is stored: send the real one.")
            restored[setting] = stored[setting]
    headers = restored.get("headers")
    if isinstance(headers, dict) and MASK in headers.values():
        old = stored.get("headers") if isinstance(stored.get("headers"), dict) else {}
        by_name = {str(name).lower(): value for name, value in old.items()}
        kept = {}
        for name, value in headers.items():
            if value == MASK and isinstance(name, str):
                if name.lower() not in by_name:
                    raise MaskWithoutSecret(
                        "headers", f"'{name}' has no stored value to keep: send the real one."
                    )
                value = by_name[name.lower()]
            kept[name] = value
        restored["headers"] = kept
    if isinstance(restored.get("url"), str):
        old_url = stored.get("url")
        restored["url"] = restore_url(restored["url"], old_url if isinstance(old_url, str) else "")
    return restored
