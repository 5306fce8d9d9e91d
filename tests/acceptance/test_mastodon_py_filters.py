"""Mastodon.py against `aloft serve` for issue 13's item 6, as a user of an app would use
filters: a v2 filter with keywords (create_filter_v2), a keyword and a status added and
removed, the filter changed to hide; the timelines showing `filtered` and then leaving the
matches out; the same filter seen through v1 (filters), and a v1 filter made and removed."""

from __future__ import annotations

import pytest
from mastodon import MastodonNotFoundError

from tests.acceptance.test_mastodon_py import App, app, register

__all__ = ["app"]  # the module fixture, shared with test_mastodon_py


def test_filter_flow(app: App) -> None:
    alice, bob = register(app, "filterer"), register(app, "chatty")
    a = alice.api
    a.account_follow(bob.id)
    made = a.create_filter_v2(
        "Sport",
        ["home", "public"],
        "warn",
        keywords_attributes=[{"keyword": "football", "whole_word": True}],
    )
    assert made.title == "Sport" and made.filter_action == "warn"
    assert [k.keyword for k in made.keywords] == ["football"]
    keyword = a.add_filter_keyword_v2(made.id, "cricket", whole_word=False)
    assert [k.keyword for k in a.filter_keywords_v2(made.id)] == ["football", "cricket"]

    match = bob.api.status_post("Football tonight")
    plain = bob.api.status_post("a walk in the park")
    home = {str(s.id): s for s in a.timeline_home()}
    assert [r.filter.title for r in home[str(match.id)].filtered] == ["Sport"]
    assert home[str(match.id)].filtered[0].keyword_matches == ["Football"]
    assert home[str(plain.id)].filtered == []

    added = a.add_filter_status_v2(made.id, plain.id)
    assert [str(s.status_id) for s in a.filter_statuses_v2(made.id)] == [str(plain.id)]
    assert str(a.filter_status_v2(added.id).status_id) == str(plain.id)

    a.update_filter_v2(made.id, filter_action="hide")
    home_ids = [str(s.id) for s in a.timeline_home()]
    assert str(match.id) not in home_ids and str(plain.id) not in home_ids
    a.delete_filter_status_v2(added.id)
    assert str(plain.id) in [str(s.id) for s in a.timeline_home()]

    # v1 shows each keyword as a filter of its own.
    v1 = {f.phrase: f for f in a.filters()}
    assert set(v1) == {"football", "cricket"} and v1["football"].irreversible is True
    a.delete_filter_keyword_v2(keyword.id)
    assert [f.phrase for f in a.filters()] == ["football"]

    a.delete_filter_v2(made.id)
    assert a.filters_v2() == [] and a.filters() == []
    assert str(match.id) in [str(s.id) for s in a.timeline_home()]
    with pytest.raises(MastodonNotFoundError):
        a.filter_v2(made.id)

    old = a.filter_create("park", ["home"], irreversible=False, whole_word=True)
    assert old.phrase == "park" and old.context == ["home"]
    assert a.filter(old.id).phrase == "park"
    assert a.filter_update(old.id, phrase="parks").phrase == "parks"
    (v2,) = a.filters_v2()
    assert v2.title == "parks" and [k.keyword for k in v2.keywords] == ["parks"]
    a.filter_delete(old.id)
    assert a.filters() == []
