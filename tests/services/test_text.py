from aloft.services import text

BASE, DOMAIN = "http://h.test", "h.test"


def test_links_mentions_and_hashtags() -> None:
    html = text.render(
        "Hi @Bob and @eve@elsewhere.org, see https://x.org/a?b=1&c=2. #Aloft",
        BASE,
        DOMAIN,
        {"bob": "Bob"},
    )
    assert '<a href="http://h.test/@Bob" class="u-url mention">@<span>Bob</span></a>' in html
    assert "@eve@elsewhere.org" in html and "elsewhere.org/@" not in html
    assert 'href="https://x.org/a?b=1&amp;c=2"' in html
    assert '<a href="http://h.test/tags/aloft" class="mention hashtag" rel="tag">' in html
    assert html.startswith("<p>") and html.endswith("</p>")


def test_unknown_local_mention_stays_plain_text() -> None:
    assert text.render("hey @nobody", BASE, DOMAIN, {}) == "<p>hey @nobody</p>"


def test_markup_is_escaped_not_interpreted() -> None:
    html = text.render('<script>alert(1)</script><img src=x onerror="y">', BASE, DOMAIN, {})
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_javascript_urls_are_not_links() -> None:
    html = text.render("javascript:alert(1) and http://ok.test", BASE, DOMAIN, {})
    assert 'href="javascript' not in html
    assert 'href="http://ok.test"' in html


def test_paragraphs_and_line_breaks() -> None:
    assert text.render("a\nb\n\nc", BASE, DOMAIN, {}) == "<p>a<br>b</p><p>c</p>"


def test_parse_finds_local_mentions_and_tags_once() -> None:
    parsed = text.parse("@bob @BOB @x@h.test @y@other.org #A #a #123", DOMAIN)
    assert parsed.mentions == ["bob", "x"]
    assert parsed.hashtags == ["a"]


def test_urls_count_as_23_characters() -> None:
    assert text.weighted_length("a https://example.com/" + "x" * 200) == 2 + 23
