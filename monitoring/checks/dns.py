"""DNS check: does a name resolve, at a chosen resolver, to what the user expects.

Catches hijacked or half-migrated records (an A record still pointing at the old
host, a missing MX after a provider change) that an HTTP check would not notice.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
import dns.reversename

from monitoring.checks.result import CheckResult, elapsed_ms, format_duration
from monitoring.targets import blocked_category, private_targets_allowed, refusal

RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "CAA", "PTR")
MATCH_MODES = ("any", "all")
# Names and hostnames compare case-insensitively; TXT content does not.
_CASE_SENSITIVE = {"TXT"}


def normalise_value(record_type: str, value: str) -> str:
    """Canonical text for comparing an expected value with an answer."""
    text = " ".join(value.strip().split())
    if record_type in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            return text
    if record_type == "TXT":
        return text
    text = text.replace('"', "").lower()
    return " ".join(part.rstrip(".") if part != "." else part for part in text.split())


def answer_texts(record_type: str, rdata: Any) -> list[str]:
    """Forms an answer may be matched by: MX "10 mx.example.com" also as "mx.example.com"."""
    if record_type == "TXT":
        return [b"".join(rdata.strings).decode("utf-8", errors="replace")]
    full = normalise_value(record_type, rdata.to_text())
    forms = [full]
    if record_type == "MX":
        forms.append(normalise_value(record_type, rdata.exchange.to_text()))
    elif record_type == "SRV":
        forms.append(normalise_value(record_type, rdata.target.to_text()))
    elif record_type == "CAA":
        forms.append(normalise_value(record_type, rdata.value.decode("utf-8", "replace")))
    elif record_type == "SOA":
        forms.append(normalise_value(record_type, rdata.mname.to_text()))
    return forms


def query_name(name: str, record_type: str) -> str:
    """PTR checks may be given an IP address; turn it into its reverse name."""
    if record_type == "PTR":
        try:
            return dns.reversename.from_address(name).to_text()
        except (ValueError, dns.exception.SyntaxError):
            return name
    return name


async def check_dns(
    name: str,
    record_type: str = "A",
    *,
    expected: Sequence[str] = (),
    match: str = "any",
    resolver_ip: str | None = None,
    resolver_port: int = 53,
    timeout_s: float = 5.0,
    allow_private: bool | None = None,
) -> CheckResult:
    """Query ``name``/``record_type`` and compare with ``expected``.

    With no expected values any answer is up. ``match="any"``: one expected value
    must be among the answers; ``"all"``: every expected value must be. NXDOMAIN,
    no answer, a timeout or a mismatch → down.
    """
    record_type = record_type.upper()
    if record_type not in RECORD_TYPES:
        raise ValueError(f"unsupported record type {record_type!r}")
    if match not in MATCH_MODES:
        raise ValueError(f"match must be one of {MATCH_MODES}")
    where = "system resolver"
    if resolver_ip is not None:
        category = blocked_category(resolver_ip)
        if category is not None and not private_targets_allowed(allow_private):
            return refusal(resolver_ip, category)
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [resolver_ip]
        resolver.port = resolver_port
        where = f"{resolver_ip}:{resolver_port}"
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.lifetime = timeout_s
    resolver.timeout = timeout_s
    qname = query_name(name, record_type)
    details: dict[str, Any] = {"name": name, "record_type": record_type, "resolver": where}
    start = time.perf_counter()
    try:
        answer = await resolver.resolve(qname, record_type, raise_on_no_answer=True)
    except dns.resolver.NXDOMAIN:
        ms = elapsed_ms(start, time.perf_counter())
        return CheckResult("down", f"{name} does not exist (NXDOMAIN from {where})", ms, details)
    except dns.resolver.NoAnswer:
        ms = elapsed_ms(start, time.perf_counter())
        return CheckResult("down", f"no {record_type} records for {name} ({where})", ms, details)
    except dns.resolver.LifetimeTimeout:
        ms = elapsed_ms(start, time.perf_counter())
        return CheckResult(
            "down",
            f"DNS query to {where} for {name} timed out after {format_duration(timeout_s)}",
            ms,
            details,
        )
    except dns.resolver.NoNameservers as exc:
        ms = elapsed_ms(start, time.perf_counter())
        return CheckResult(
            "down", f"DNS server {where} failed to answer for {name}: {exc}", ms, details
        )
    except dns.exception.DNSException as exc:
        ms = elapsed_ms(start, time.perf_counter())
        return CheckResult("down", f"DNS lookup of {name} failed: {exc}", ms, details)
    ms = elapsed_ms(start, time.perf_counter())

    answers = [answer_texts(record_type, rdata) for rdata in answer]
    details["answers"] = [forms[0] for forms in answers]
    details["ttl"] = answer.rrset.ttl if answer.rrset is not None else None
    shown = ", ".join(details["answers"][:5]) + (" ..." if len(answers) > 5 else "")
    if not expected:
        return CheckResult("up", f"{name} {record_type}: {shown}", ms, details)

    known = {form for forms in answers for form in forms}
    wanted = [normalise_value(record_type, value) for value in expected]
    if record_type not in _CASE_SENSITIVE:
        known = {value.lower() for value in known}
        wanted = [value.lower() for value in wanted]
    missing = [value for value, norm in zip(expected, wanted, strict=True) if norm not in known]
    details["missing"] = missing
    ok = not missing if match == "all" else len(missing) < len(wanted)
    if ok:
        return CheckResult("up", f"{name} {record_type}: {shown}", ms, details)
    if match == "all":
        reason = f"{record_type} {', '.join(missing)} missing for {name}; got {shown}"
    else:
        reason = f"none of the expected {record_type} values for {name} found; got {shown}"
    return CheckResult("down", reason, ms, details)
