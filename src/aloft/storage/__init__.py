"""Storage: one schema for SQLite and PostgreSQL, migrations, engines and the unit of work."""
