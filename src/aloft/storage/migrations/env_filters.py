"""What autogenerate compares: everything in `schema.metadata` except the full-text search
objects, which each engine builds its own way in migration 0002."""

SEARCH_OBJECTS = {"statuses_fts", "search_vector", "ix_statuses_search_vector"}


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (name in SEARCH_OBJECTS or (name or "").startswith("statuses_fts"))
