"""The database schema, written once in SQLAlchemy Core for both SQLite and PostgreSQL.

Conventions:
* Primary keys of things clients page through are snowflakes (`aloft.ids`), made by the
  app before the write so a retried write carries the same key.
* Likes, reblogs, bookmarks, follows and notifications are unique by what they relate, so
  doing one twice (a client retry, a failover retry) changes nothing the second time.
* Counters (followers, statuses, favourites…) live on the row they count and are changed in
  the same transaction as the row that changes them, only when that row was really added.
* Timestamps are stored in UTC.
"""

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

ID = sa.BigInteger
TS = sa.DateTime(timezone=True)


def _id_pk() -> sa.Column:
    return sa.Column("id", ID, primary_key=True, autoincrement=False)


accounts = sa.Table(
    "accounts",
    metadata,
    _id_pk(),
    sa.Column("username", sa.String(30), nullable=False),
    sa.Column("username_lower", sa.String(30), nullable=False, unique=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("display_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("note_source", sa.Text, nullable=False, server_default=""),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("locked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("bot", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("followers_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("following_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("statuses_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_status_at", TS, nullable=True),
    # Set by an admin (POST /api/v1/admin/accounts/:id/action type=suspend): the account
    # cannot sign in or use its tokens, and its statuses are hidden everywhere.
    sa.Column("suspended_at", TS, nullable=True),
    # Profile fields as typed (JSON list of {"name", "value"}), rendered when shown.
    sa.Column("fields", sa.Text, nullable=False, server_default="[]"),
    # What a new status gets when the client does not say (source[...] of the profile).
    sa.Column("default_privacy", sa.String(10), nullable=False, server_default="public"),
    sa.Column("default_sensitive", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("default_language", sa.String(16), nullable=True),
    sa.Column("discoverable", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("indexable", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("hide_collections", sa.Boolean, nullable=False, server_default=sa.false()),
    # The avatar and header (aloft.services.pictures): the stored file's path under /media,
    # null for the default image, and their alt text.
    sa.Column("avatar_path", sa.String(80), nullable=True),
    sa.Column("avatar_description", sa.Text, nullable=False, server_default=""),
    sa.Column("header_path", sa.String(80), nullable=True),
    sa.Column("header_description", sa.Text, nullable=False, server_default=""),
    # Partial: the visibility rule asks for the suspended accounts on every listing.
    sa.Index(
        None,
        "suspended_at",
        sqlite_where=sa.text("suspended_at IS NOT NULL"),
        postgresql_where=sa.text("suspended_at IS NOT NULL"),
    ),
)

apps = sa.Table(
    "apps",
    metadata,
    _id_pk(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("website", sa.String(2000), nullable=True),
    sa.Column("redirect_uris", sa.Text, nullable=False),  # one per line
    sa.Column("scopes", sa.String(1000), nullable=False),
    sa.Column("client_id", sa.String(64), nullable=False, unique=True),
    sa.Column("client_secret", sa.String(64), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

# Access tokens are stored as SHA-256 of the token: a leaked table grants nothing.
tokens = sa.Table(
    "tokens",
    metadata,
    _id_pk(),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True),
    sa.Column("scopes", sa.String(1000), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

auth_codes = sa.Table(
    "auth_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("app_id", ID, sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("scopes", sa.String(1000), nullable=False),
    sa.Column("redirect_uri", sa.String(2000), nullable=False),
    sa.Column("code_challenge", sa.String(200), nullable=True),  # PKCE S256, if any
    sa.Column("created_at", TS, nullable=False),
    # The token an exchanged code issued (NULL until then), so a code presented again can
    # revoke it (RFC 6749 §4.1.2). No foreign key: the row must still read as used after
    # that token is revoked.
    sa.Column("token_id", ID, nullable=True),
)

# visibility: 0 public, 1 unlisted, 2 private, 3 direct (see aloft.services.visibility)
statuses = sa.Table(
    "statuses",
    metadata,
    _id_pk(),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("in_reply_to_id", ID, nullable=True),
    sa.Column("in_reply_to_account_id", ID, nullable=True),
    sa.Column("reblog_of_id", ID, sa.ForeignKey("statuses.id", ondelete="CASCADE"), nullable=True),
    sa.Column("text", sa.Text, nullable=False, server_default=""),
    sa.Column("content", sa.Text, nullable=False, server_default=""),
    sa.Column("spoiler_text", sa.Text, nullable=False, server_default=""),
    sa.Column("sensitive", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("visibility", sa.SmallInteger, nullable=False),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("app_id", ID, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("replies_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reblogs_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("favourites_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("edited_at", TS, nullable=True),  # the last edit (status_edits), if any
    sa.Column("poll_id", ID, nullable=True),  # polls.id; lets a page skip polls it has not
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "in_reply_to_id"),
    sa.Index(None, "visibility", "id"),
    # One reblog per account and status; NULLs (ordinary posts) never collide.
    sa.Index(None, "reblog_of_id", "account_id", unique=True),
)

mentions = sa.Table(
    "mentions",
    metadata,
    sa.Column("status_id", ID, sa.ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Index(None, "account_id", "status_id"),
)

tags = sa.Table(
    "tags",
    metadata,
    _id_pk(),
    sa.Column("name", sa.String(100), nullable=False, unique=True),  # lower case
)

status_tags = sa.Table(
    "status_tags",
    metadata,
    sa.Column("tag_id", ID, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("status_id", ID, sa.ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True),
    sa.Index(None, "status_id"),
)

follows = sa.Table(
    "follows",
    metadata,
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "target_account_id",
        ID,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("id", ID, nullable=False, unique=True),  # pagination key of follower lists
    sa.Column("created_at", TS, nullable=False),
    sa.Index(None, "target_account_id", "id"),
    sa.Index(None, "account_id", "id"),
)

# A follow of a locked account waits here until the target authorizes or rejects it; `id`
# pages the target's list of requests, as `follows.id` pages follower lists.
follow_requests = sa.Table(
    "follow_requests",
    metadata,
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "target_account_id",
        ID,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("id", ID, nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Index(None, "target_account_id", "id"),
)

# Where an account last read its home timeline and its notifications (GET/POST
# /api/v1/markers). `version` goes up by one each time `last_read_id` really changes.
markers = sa.Table(
    "markers",
    metadata,
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("timeline", sa.String(20), primary_key=True),
    sa.Column("last_read_id", ID, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)


def _account_status_table(name: str) -> sa.Table:
    """Favourites and bookmarks: one row per (account, status), paged by their own id."""
    return sa.Table(
        name,
        metadata,
        _id_pk(),
        sa.Column(
            "account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "status_id", ID, sa.ForeignKey("statuses.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("account_id", "status_id"),
        sa.Index(None, "status_id", "id"),
        sa.Index(None, "account_id", "id"),
    )


favourites = _account_status_table("favourites")
bookmarks = _account_status_table("bookmarks")

notifications = sa.Table(
    "notifications",
    metadata,
    _id_pk(),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "from_account_id",
        ID,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("status_id", ID, sa.ForeignKey("statuses.id", ondelete="CASCADE"), nullable=True),
    # "type:from:status": a repeated action (retry, re-like) never notifies twice.
    sa.Column("dedupe_key", sa.String(80), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    # Favourites and reblogs of one status, and follows, share a group (grouped
    # notifications, aloft.services.notifications); NULL: a group of its own.
    sa.Column("group_key", sa.String(80), nullable=True),
    sa.UniqueConstraint("account_id", "dedupe_key"),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "account_id", "group_key", "id"),
)

# Idempotency-Key of POST /api/v1/statuses, written in the same transaction as the status.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("status_id", ID, sa.ForeignKey("statuses.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

# Posts waiting for their time (aloft.services.scheduled): `params` is the post as asked
# (JSON, Mastodon's ScheduledStatus params). The job that publishes one deletes its row in
# the transaction that writes the status, so it is published once.
scheduled_statuses = sa.Table(
    "scheduled_statuses",
    metadata,
    _id_pk(),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("scheduled_at", TS, nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("account_id", "idempotency_key"),
    sa.Index(None, "scheduled_at"),
    sa.Index(None, "account_id", "id"),
)

# Conversations (aloft.services.conversations), Mastodon's AccountConversation: one row per
# account, thread of direct posts (its root status) and set of other participants
# (`participants`, a JSON list of account ids; `participants_key` its SHA-256, for the
# unique index). Written in the direct post's own transaction.
conversations = sa.Table(
    "conversations",
    metadata,
    _id_pk(),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("thread_id", ID, nullable=False),
    sa.Column("participants_key", sa.String(64), nullable=False),
    sa.Column("participants", sa.Text, nullable=False),
    sa.Column("last_status_id", ID, nullable=False),
    sa.Column("unread", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("account_id", "thread_id", "participants_key"),
    sa.Index(None, "account_id", "last_status_id"),
)

# The direct posts of each conversation (a deleted one leaves with its status).
conversation_statuses = sa.Table(
    "conversation_statuses",
    metadata,
    sa.Column(
        "conversation_id",
        ID,
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("status_id", ID, sa.ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True),
    sa.Index(None, "status_id"),
)

# Rate-limit counts shared by every app process of a deployment (aloft.services.limits):
# requests per rule, key (an account id or an IP address) and fixed window, where `window`
# is the window's start in seconds since the epoch. Rows older than two windows are swept.
rate_counts = sa.Table(
    "rate_counts",
    metadata,
    sa.Column("rule", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("window", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Index(None, "window"),
)

# Media attachments (aloft.services.media). The bytes live in the database, in media_files,
# so the synchronous standby protects them like posts (docs/ARCHITECTURE.md, "Media").
# state: "processing" (a video or GIF waiting for its job), "ready", "failed". A job claims
# a processing row by setting claimed_until (a lease), so any app replica can finish it.
# status_id is set when a status takes the attachment; deleting the status detaches it
# (SET NULL), as Mastodon keeps media for delete-and-redraft until the cleanup removes it.
media_attachments = sa.Table(
    "media_attachments",
    metadata,
    _id_pk(),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status_id", ID, sa.ForeignKey("statuses.id", ondelete="SET NULL"), nullable=True),
    sa.Column("position", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("type", sa.String(10), nullable=False),  # image, gifv, video
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("token", sa.String(32), nullable=False),  # random, part of every file URL
    sa.Column("ext", sa.String(5), nullable=True),  # the original file's, once processed
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("focus_x", sa.Float, nullable=True),
    sa.Column("focus_y", sa.Float, nullable=True),
    sa.Column("blurhash", sa.String(100), nullable=True),
    sa.Column("meta", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Column("created_at", TS, nullable=False),
    sa.Column("claimed_until", TS, nullable=True),
    sa.Column("claimed_by", sa.String(32), nullable=True),  # the claim's own random token
    sa.Column("attempts", sa.SmallInteger, nullable=False, server_default="0"),
    # Reserved for a scheduled post (aloft.services.scheduled): not cleaned up as
    # unattached, not attachable to another post. No foreign key (migration 0012 says
    # why): publishing or deleting the scheduled post clears it.
    sa.Column("scheduled_status_id", ID, nullable=True),
    # "avatar" or "header": an account's picture (aloft.services.pictures), never a post's
    # media nor an unused upload.
    sa.Column("profile_part", sa.String(6), nullable=True),
    sa.Index(None, "status_id"),
    sa.Index(None, "scheduled_status_id"),
    sa.Index(None, "state", "id"),
    sa.Index(None, "account_id", "created_at"),
)

# variant: "original" and "small" (served), "upload" (a video's bytes until its job ran).
media_files = sa.Table(
    "media_files",
    metadata,
    sa.Column(
        "media_id",
        ID,
        sa.ForeignKey("media_attachments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("variant", sa.String(10), primary_key=True),
    sa.Column("content_type", sa.String(50), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)


def _account_pair_table(name: str, *extra: sa.Column) -> sa.Table:
    """Blocks and mutes: one row per (account, target), paged by their own id."""
    return sa.Table(
        name,
        metadata,
        sa.Column(
            "account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "target_account_id",
            ID,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("id", ID, nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        *extra,
        sa.Index(None, "target_account_id"),
        sa.Index(None, "account_id", "id"),
    )


# Blocks and mutes (aloft.services.relations). A mute with `expires_at` stops applying once
# that time has passed (compared at read time: no job removes it); `notifications` says
# whether the target's notifications are hidden too.
blocks = _account_pair_table("blocks")
mutes = _account_pair_table(
    "mutes",
    sa.Column("notifications", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("expires_at", TS, nullable=True),
)

# Domains an account blocks. Stored and listed only: every account is local (no domain),
# so they hide nothing until federation comes.
domain_blocks = sa.Table(
    "domain_blocks",
    metadata,
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("domain", sa.String(255), primary_key=True),
    sa.Column("id", ID, nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Index(None, "account_id", "id"),
)

# Reports to the moderators (POST /api/v1/reports). status_ids and rule_ids are JSON lists
# of ids; action_taken_at is set when an admin resolves the report.
reports = sa.Table(
    "reports",
    metadata,
    _id_pk(),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "target_account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("status_ids", sa.Text, nullable=False, server_default="[]"),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("category", sa.String(20), nullable=False),
    sa.Column("forwarded", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("action_taken_at", TS, nullable=True),
    sa.Column("action_taken_by_account_id", ID, nullable=True),
    sa.Index(None, "action_taken_at", "id"),
    sa.Index(None, "target_account_id"),
)


# Edits (aloft.services.edits): one row per revision, the original first, written on the
# first edit. `id` is drawn before the edit's first attempt, so a rerun finds its revision.
# media_ids and poll_options are JSON lists (the attachments and option titles it showed).
status_edits = sa.Table(
    "status_edits",
    metadata,
    _id_pk(),
    sa.Column("status_id", ID, sa.ForeignKey("statuses.id", ondelete="CASCADE"), nullable=False),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("spoiler_text", sa.Text, nullable=False),
    sa.Column("sensitive", sa.Boolean, nullable=False),
    sa.Column("media_ids", sa.Text, nullable=False, server_default="[]"),
    sa.Column("poll_options", sa.Text, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Index(None, "status_id", "id"),
)

# Polls (aloft.services.polls): one per status. `ended` is set by the expiry job in the
# same transaction as the `poll` notifications, so they are written once.
polls = sa.Table(
    "polls",
    metadata,
    _id_pk(),
    sa.Column(
        "status_id",
        ID,
        sa.ForeignKey("statuses.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("multiple", sa.Boolean, nullable=False),
    sa.Column("hide_totals", sa.Boolean, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("votes_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("voters_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("ended", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index(None, "ended", "expires_at"),
)

poll_options = sa.Table(
    "poll_options",
    metadata,
    sa.Column("poll_id", ID, sa.ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("votes_count", sa.Integer, nullable=False, server_default="0"),
)

# One row per chosen option: an account votes once (several rows on a multiple poll).
poll_votes = sa.Table(
    "poll_votes",
    metadata,
    _id_pk(),
    sa.Column("poll_id", ID, sa.ForeignKey("polls.id", ondelete="CASCADE"), nullable=False),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("choice", sa.SmallInteger, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("poll_id", "account_id", "choice"),
    sa.Index(None, "account_id", "poll_id"),
)

# Pinned statuses (aloft.services.pins): `id` orders an account's pins, newest first.
status_pins = sa.Table(
    "status_pins",
    metadata,
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("status_id", ID, sa.ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("id", ID, nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Index(None, "account_id", "id"),
)

# Muted conversations (aloft.services.conversation_mutes): the root status of the thread.
conversation_mutes = sa.Table(
    "conversation_mutes",
    metadata,
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("status_id", ID, sa.ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True),
)

# An account's private note on another (POST /api/v1/accounts/:id/note).
account_notes = sa.Table(
    "account_notes",
    metadata,
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "target_account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("comment", sa.Text, nullable=False),
)

# Endorsements: the accounts an account features on its profile (`id` pages them).
account_pins = sa.Table(
    "account_pins",
    metadata,
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "target_account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("id", ID, nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Index(None, "account_id", "id"),
)

# Lists (aloft.services.lists): an account's lists of the accounts it follows.
# `replies_policy` is Mastodon's name (followed, list, none); members of an `exclusive`
# list are left out of their owner's home timeline.
lists = sa.Table(
    "lists",
    metadata,
    _id_pk(),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("replies_policy", sa.String(10), nullable=False, server_default="list"),
    sa.Column("exclusive", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", TS, nullable=False),
    sa.Index(None, "account_id", "id"),
)

# A list's members, unique per (list, account) so adding twice adds one row; paged by the
# account's id, as Mastodon pages them.
list_accounts = sa.Table(
    "list_accounts",
    metadata,
    sa.Column("list_id", ID, sa.ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Index(None, "account_id", "list_id"),
)

# Hashtags an account follows (aloft.services.hashtags): public statuses with them reach its
# home timeline. `id` pages GET /api/v1/followed_tags.
tag_follows = sa.Table(
    "tag_follows",
    metadata,
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag_id", ID, sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("id", ID, nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Index(None, "account_id", "id"),
    sa.Index(None, "tag_id"),
)

# Hashtags an account features on its profile (aloft.services.featured_tags); `name` is the
# spelling it gave. Their counts are read from status_tags, not kept here.
featured_tags = sa.Table(
    "featured_tags",
    metadata,
    _id_pk(),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("tag_id", ID, sa.ForeignKey("tags.id", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("account_id", "tag_id"),
)

# Filters (aloft.services.filters): an account's filter, v2's shape; a v1 filter is one of
# its keywords. `context` is the space-separated context names (home, notifications,
# public, thread, account); `action` is warn, hide or blur.
filters = sa.Table(
    "filters",
    metadata,
    _id_pk(),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("context", sa.String(100), nullable=False),
    sa.Column("action", sa.String(10), nullable=False, server_default="warn"),
    sa.Column("expires_at", TS, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Index(None, "account_id", "id"),
)

filter_keywords = sa.Table(
    "filter_keywords",
    metadata,
    _id_pk(),
    sa.Column("filter_id", ID, sa.ForeignKey("filters.id", ondelete="CASCADE"), nullable=False),
    sa.Column("keyword", sa.Text, nullable=False),
    sa.Column("whole_word", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", TS, nullable=False),
    sa.Index(None, "filter_id", "id"),
)

filter_statuses = sa.Table(
    "filter_statuses",
    metadata,
    _id_pk(),
    sa.Column("filter_id", ID, sa.ForeignKey("filters.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status_id", ID, sa.ForeignKey("statuses.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("filter_id", "status_id"),
    sa.Index(None, "status_id"),
)
