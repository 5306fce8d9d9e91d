"""Status text → sanitized HTML with links, @mentions of local accounts and #hashtags.

The text is tokenised once: URLs, mentions and hashtags become links, everything else is
HTML-escaped, blank lines separate paragraphs and single newlines become <br>. The result
then goes through nh3 (Ammonia) with a short allow-list, so even a bug here cannot let a
script through.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import nh3

MAX_CHARACTERS = 500
URL_WEIGHT = 23  # Mastodon counts every link as 23 characters, whatever its length.
# Our own caps, since the weighting above lets links grow without bound: one link may be
# 2,048 characters (what browsers and most servers handle), and the text and content
# warning together 5,000 characters as stored. With the HTML writing a link twice, the
# largest status renders to about 10 KB.
MAX_URL_CHARACTERS = 2048
MAX_STORED_CHARACTERS = 5000

_URL = r"(?P<url>https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]])"
_MENTION = r"(?<![\w/@])@(?P<user>[A-Za-z0-9_]{1,30})(?:@(?P<domain>[A-Za-z0-9.-]+\.[A-Za-z]{2,}))?"
# What a hashtag's name may be (lower-cased when stored).
TAG_NAME = re.compile(r"\w{1,100}")
_HASHTAG = rf"(?<![\w/&#])#(?P<tag>{TAG_NAME.pattern})"
_TOKENS = re.compile(f"{_URL}|{_MENTION}|{_HASHTAG}")

_ALLOWED_TAGS = {"p", "br", "a", "span"}
_ALLOWED_ATTRS = {"a": {"href", "class", "rel", "target", "translate"}, "span": {"class"}}


@dataclass(frozen=True)
class Parsed:
    mentions: list[str]  # lower-case usernames, local or naming our own domain
    hashtags: list[str]  # normalized names (`normalize_tag`), first spelling kept in the text


def normalize_tag(name: str) -> str:
    """A hashtag's name as it is stored and matched: NFKC, then lower case, as Mastodon
    matches names ("#Ｃａｔ" is #cat). Mastodon's ASCII folding is not done, so "café" and
    "cafe" stay two tags."""
    return unicodedata.normalize("NFKC", name).lower()


def is_tag_name(name: str) -> bool:
    """Whether a status's text could make a hashtag of `name` (normalized): word characters,
    at most 100, not only digits."""
    return TAG_NAME.fullmatch(name) is not None and not name.isdigit()


def weighted_length(text: str) -> int:
    """Length as Mastodon counts it against max_characters."""
    return len(re.sub(_URL, "x" * URL_WEIGHT, text))


def size_error(text: str, spoiler_text: str = "") -> str | None:
    """Why `text` is too large to store, beyond the weighted character limit, or None."""
    if any(len(m.group(0)) > MAX_URL_CHARACTERS for m in re.finditer(_URL, text)):
        return f"Links may be at most {MAX_URL_CHARACTERS} characters"
    if len(text) + len(spoiler_text) > MAX_STORED_CHARACTERS:
        return f"Text may be at most {MAX_STORED_CHARACTERS} characters long, links included"
    return None


def parse(text: str, local_domain: str) -> Parsed:
    """The local usernames mentioned and the hashtags used, in order, without repeats."""
    users: dict[str, None] = {}
    tags: dict[str, None] = {}
    for m in _TOKENS.finditer(text):
        if m.group("user") and (m.group("domain") or local_domain) == local_domain:
            users[m.group("user").lower()] = None
        elif m.group("tag") and is_tag_name(name := normalize_tag(m.group("tag"))):
            tags[name] = None
    return Parsed(list(users), list(tags))


def urls(text: str) -> list[str]:
    """The links in `text`, in order, without repeats."""
    return list(dict.fromkeys(m.group("url") for m in re.finditer(_URL, text)))


def render(text: str, base_url: str, local_domain: str, known: Mapping[str, str]) -> str:
    """HTML for `text`. `known` maps lower-case usernames that exist to their spelling."""
    body = _linked(text, base_url, local_domain, known).replace("\r\n", "\n")
    paragraphs = [p for p in re.split(r"\n\s*\n", body.strip()) if p]
    joined = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return _clean(joined)


def render_line(text: str, base_url: str) -> str:
    """HTML for one line (a profile field's value): escaped, with its links and hashtags
    made links as in a status (links also `rel="me"`, as Mastodon marks a profile's
    links); no paragraphs, mentions left as text."""
    line = " ".join(text.split())
    return _clean(_linked(line, base_url, "", {}, rel="me nofollow noopener noreferrer"))


def _clean(html_text: str) -> str:
    return nh3.clean(
        html_text,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRS,
        link_rel=None,
        url_schemes={"http", "https"},
    )


def _linked(
    text: str,
    base_url: str,
    local_domain: str,
    known: Mapping[str, str],
    rel: str = "nofollow noopener noreferrer",
) -> str:
    """`text` escaped, with its links, known mentions and hashtags made links."""
    out: list[str] = []
    pos = 0
    for m in _TOKENS.finditer(text):
        out.append(html.escape(text[pos : m.start()], quote=False))
        pos = m.end()
        if m.group("url"):
            url = m.group("url")
            href = html.escape(url)
            out.append(f'<a href="{href}" rel="{rel}" target="_blank">{href}</a>')
        elif m.group("user"):
            name = m.group("user").lower()
            remote = (m.group("domain") or local_domain) != local_domain
            if remote or name not in known:
                out.append(html.escape(m.group(0)))
                continue
            spelled = known[name]
            out.append(
                f'<span class="h-card" translate="no"><a href="{base_url}/@{spelled}" '
                f'class="u-url mention">@<span>{spelled}</span></a></span>'
            )
        else:
            tag = m.group("tag")
            if tag.isdigit():
                out.append(html.escape(m.group(0)))
                continue
            out.append(
                f'<a href="{base_url}/tags/{normalize_tag(tag)}" class="mention hashtag" '
                f'rel="tag">#<span>{html.escape(tag)}</span></a>'
            )
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)
