"""The signature scheme receivers implement (README: "Verifying a webhook")."""

from __future__ import annotations

import hashlib
import hmac

from webhooks import signing

SECRET = "whsec_test"
BODY = b'{"id":"e1","type":"incident.triggered"}'


def test_header_is_stripe_style_and_matches_the_documented_recipe():
    header = signing.signature_header(SECRET, BODY, timestamp=1_700_000_000)
    timestamp, v1 = header.split(",")
    assert timestamp == "t=1700000000"
    # The recipe from the README, spelled out with the standard library only.
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert v1 == "v1=" + expected


def test_verify_accepts_a_fresh_signature_and_refuses_tampering():
    header = signing.signature_header(SECRET, BODY)
    assert signing.verify(header, BODY, SECRET)
    assert not signing.verify(header, BODY + b" ", SECRET)
    assert not signing.verify(header, BODY, "whsec_other")


def test_verify_refuses_replays_outside_the_tolerance():
    header = signing.signature_header(SECRET, BODY, timestamp=1_700_000_000)
    assert signing.verify(header, BODY, SECRET, now=1_700_000_000 + 299)
    assert not signing.verify(header, BODY, SECRET, now=1_700_000_000 + 301)
    assert signing.verify(header, BODY, SECRET, tolerance=0, now=1_800_000_000)


def test_any_matching_v1_is_enough_and_malformed_headers_fail():
    good = signing.signature_header(SECRET, BODY, timestamp=1_700_000_000)
    rotated = f"t=1700000000,v1={'0' * 64},{good.split(',')[1]}"
    assert signing.verify(rotated, BODY, SECRET, now=1_700_000_000)
    for header in ("", "garbage", "t=abc,v1=00", "v1=" + "0" * 64, "t=1700000000"):
        assert not signing.verify(header, BODY, SECRET, now=1_700_000_000)


def test_the_readme_recipe_verifies_real_signatures():
    """The snippet integrators copy from the README must agree with what we send."""
    from pathlib import Path

    from django.conf import settings

    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    section = readme.split("**Verifying a webhook.**", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(snippet, namespace)  # our own README
    verify = namespace["verify"]
    header = signing.signature_header(SECRET, BODY)
    assert verify(header, BODY, SECRET)
    assert not verify(header, BODY + b"x", SECRET)
    assert not verify(signing.signature_header(SECRET, BODY, timestamp=1), BODY, SECRET)
