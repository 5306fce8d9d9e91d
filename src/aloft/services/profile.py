"""What an account says about itself beyond its name and bio: profile fields, posting
defaults (`source[privacy|sensitive|language]`) and the profile's flags.

Rules as Mastodon's (Account::Field, UserSettings): at most `MAX_FIELDS` fields, each name
and value at most `MAX_FIELD_CHARACTERS` characters; a field whose name and value are both
blank is dropped; the fields sent replace the ones there. The default privacy is public,
unlisted or private (never direct); the default language is a language code, or blank for
none. Fields are stored as typed and rendered when shown: the name HTML-escaped, the value
escaped with its links made links; `verified_at` is always null (no rel=me checks here).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from aloft.errors import Invalid
from aloft.services import text
from aloft.services.statuses import LANGUAGE

MAX_FIELDS = 4
MAX_FIELD_CHARACTERS = 255
PRIVACIES = ("public", "unlisted", "private")


@dataclass(frozen=True)
class PostingDefaults:
    """What a new status gets when the client does not say."""

    privacy: str = "public"
    sensitive: bool = False
    language: str | None = None


def fields_json(pairs: Sequence[tuple[str, str]]) -> str:
    """The fields to store, checked (422 naming `fields_attributes`), blank ones dropped."""
    kept = [(n.strip(), v.strip()) for n, v in pairs if n.strip() or v.strip()]
    if len(kept) > MAX_FIELDS:
        raise Invalid.on(
            "fields_attributes", "ERR_TOO_LONG", f"is too long (maximum is {MAX_FIELDS} fields)"
        )
    for name, value in kept:
        if "\x00" in name + value:
            raise Invalid.on("fields_attributes", "ERR_INVALID", "must not contain NUL characters")
        if len(name) > MAX_FIELD_CHARACTERS or len(value) > MAX_FIELD_CHARACTERS:
            raise Invalid.on(
                "fields_attributes",
                "ERR_TOO_LONG",
                f"name and value are too long (maximum is {MAX_FIELD_CHARACTERS} characters)",
            )
    return orjson.dumps([{"name": n, "value": v} for n, v in kept]).decode()


def fields_source(stored: str) -> list[dict[str, Any]]:
    """The fields as their owner typed them (CredentialAccount.source.fields)."""
    return [
        {"name": f["name"], "value": f["value"], "verified_at": None} for f in orjson.loads(stored)
    ]


def fields_shown(stored: str, base_url: str) -> list[dict[str, Any]]:
    """The fields as everyone sees them (Account.fields)."""
    return [
        {
            "name": html.escape(f["name"]),
            "value": text.render_line(f["value"], base_url),
            "verified_at": None,
        }
        for f in orjson.loads(stored)
    ]


def check_privacy(privacy: str) -> str:
    if privacy not in PRIVACIES:
        raise Invalid.on(
            "source[privacy]", "ERR_INCLUSION", "is not one of public, unlisted, private"
        )
    return privacy


def check_language(language: str) -> str | None:
    """A language code, or None for a blank one (no default language)."""
    if not language.strip():
        return None
    if not LANGUAGE.match(language):
        raise Invalid.on("source[language]", "ERR_INVALID", "is not a valid language code")
    return language
