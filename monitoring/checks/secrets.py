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
"""

from __future__ import annotations

from typing import Any

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


class MaskWithoutSecret(ValueError):
    """The mask was sent for a secret that is not stored, so there is nothing to keep."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


def is_secret_header(name: str) -> bool:
    """Whether a request header's value is a credential (see the module docstring)."""
    lowered = name.lower()
    return any(part in lowered for part in _SECRET_HEADER_PARTS)


def masked_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """``config`` as readers may see it: write-only settings left out, secret headers masked."""
    shown = {k: v for k, v in (config or {}).items() if k not in WRITE_ONLY_SETTINGS}
    headers = shown.get("headers")
    if isinstance(headers, dict):
        shown["headers"] = {
            name: MASK if is_secret_header(name) else value for name, value in headers.items()
        }
    return shown


def restore_secrets(config: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """``config`` as written by a client, with every masked value replaced by the stored one.

    A header whose value is the mask keeps the stored value of the header with the same
    name (header names are case-insensitive); a header left out is removed, as any other
    setting would be. Raises :class:`MaskWithoutSecret` when the mask stands for a secret
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
    return restored
