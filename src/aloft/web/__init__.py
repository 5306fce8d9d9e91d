"""Server-rendered pages for people: the front page and the OAuth sign-in page."""
