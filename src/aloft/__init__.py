"""Aloft: a Mastodon-compatible microblogging server whose failover is proven by drills."""

__version__ = "0.1.0"

# What clients see in /api/v1/instance: the Mastodon version whose API we follow, then ours.
MASTODON_COMPAT_VERSION = "4.3.0"
VERSION_STRING = f"{MASTODON_COMPAT_VERSION} (compatible; Aloft {__version__})"
