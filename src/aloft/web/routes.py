"""The web pages' routes, in one table (the OAuth pages are in app.py with the API's)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from aloft.web import account, admin, feeds, home, public

GET = ["GET"]
POST = ["POST"]
BOTH = ["GET", "POST"]


def routes() -> list[BaseRoute]:
    return [
        Route("/", public.front, methods=GET),
        # Feeds before pages: `/@{username}` would take "alice.rss" as a name.
        Route("/@{username}.rss", feeds.profile, methods=GET),
        Route("/@{username}", public.profile, methods=GET),
        Route("/@{username}/{id}", public.thread, methods=GET),
        Route("/tags/{name}.rss", feeds.tag, methods=GET),
        Route("/tags/{name}", public.tag, methods=GET),
        Route("/search", public.search, methods=GET),
        Route("/sign_in", account.sign_in, methods=BOTH),
        Route("/sign_up", account.sign_up, methods=BOTH),
        Route("/sign_out", account.sign_out, methods=POST),
        Route("/settings", account.settings, methods=BOTH),
        Route("/home", home.home, methods=GET),
        Route("/notifications", home.notifications_page, methods=GET),
        Route("/web/statuses", home.post, methods=POST),
        Route("/web/statuses/{id}", home.status_fragment, methods=GET),
        Route("/web/statuses/{id}/favourite", home.favourite, methods=POST),
        Route("/web/statuses/{id}/unfavourite", home.unfavourite, methods=POST),
        Route("/web/statuses/{id}/reblog", home.reblog, methods=POST),
        Route("/web/statuses/{id}/unreblog", home.unreblog, methods=POST),
        Route("/web/statuses/{id}/bookmark", home.bookmark, methods=POST),
        Route("/web/statuses/{id}/unbookmark", home.unbookmark, methods=POST),
        Route("/web/polls/{id}/votes", home.vote, methods=POST),
        Route("/web/accounts/{id}/follow", home.follow, methods=POST),
        Route("/web/accounts/{id}/unfollow", home.unfollow, methods=POST),
        Route("/admin", admin.queue, methods=GET),
        Route("/admin/drill/{path:path}", admin.drill_report, methods=GET),
        Route("/admin/reports/{id}/resolve", admin.resolve, methods=POST),
        Route("/admin/reports/{id}/suspend", admin.suspend, methods=POST),
    ]
