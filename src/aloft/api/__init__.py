"""The Mastodon client API: routes, auth and scopes, pagination, entities, error mapping."""
