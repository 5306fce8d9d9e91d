"""A poll in a real browser (Chromium through Playwright) against a real `aloft serve`: made
from the compose form with its labelled controls, voted in with the keyboard alone and with
JavaScript off, and its results shown to the voter. Console errors fail the test
(tests/web/conftest.py)."""

from __future__ import annotations

from typing import Any

from tests.web.test_browser import sign_up


def test_make_a_poll_and_vote_with_the_keyboard(open_page: Any) -> None:
    dora = open_page()
    sign_up(dora, "dora")
    dora.get_by_label("What's on your mind?").fill("Soup or salad?")
    dora.get_by_text("Poll (2 to").click()  # opens the poll's part of the form
    dora.get_by_label("Choice 1").fill("soup")
    dora.get_by_label("Choice 2").fill("salad")  # choices 3 and 4 stay empty: left out
    dora.get_by_label("Voting ends after").select_option(label="6 hours")
    dora.get_by_role("button", name="Post").click()
    dora.wait_for_url("**/home")
    assert dora.locator(".poll", has_text="0 people voted").count() == 1

    eric = open_page(js=False)  # the vote form needs no script
    sign_up(eric, "eric")
    eric.goto("/@dora")
    choice = eric.get_by_label("salad")
    choice.focus()
    eric.keyboard.press("Space")
    assert choice.is_checked()
    eric.keyboard.press("Tab")
    assert eric.evaluate("document.activeElement.textContent") == "Vote"
    eric.keyboard.press("Enter")
    eric.wait_for_url("**/@dora")
    results = eric.locator(".poll-results").inner_text()
    assert "salad: 100 %" in results and "soup: 0 %" in results and "your choice" in results
    assert eric.get_by_role("button", name="Vote").count() == 0
