"""Markdown from responders, made safe for a public page.

Incident updates are written in a hurry by people who may paste anything; the page is read
by everyone. So Markdown is rendered, then sanitised by ``nh3`` (an allow-list HTML
sanitiser): no scripts, no event handlers, no ``javascript:`` links, links open as
``rel="nofollow noopener noreferrer"``. The HTML is only ever built here.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h3", "h4", "h5", "h6", "hr", "del",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=2048)
def _render(text: str) -> str:
    # Raw HTML in the source is escaped rather than passed through, then nh3 cleans what
    # Markdown produced (e.g. a [link](javascript:...) ).
    source = html.escape(text or "", quote=False)
    rendered = markdown.markdown(source, extensions=["sane_lists"], output_format="html")
    return nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    )


def render_markdown(text: str) -> SafeString:
    """Sanitised HTML for ``text`` (safe to put in a template unescaped)."""
    return mark_safe(_render(text))  # noqa: S308 - sanitised by nh3 above


_TAG = re.compile(r"<[^>]+>")


def markdown_to_text(text: str) -> str:
    """Plain text for SMS, e-mail text parts and feeds' summaries."""
    return html.unescape(_TAG.sub("", _render(text))).strip()
