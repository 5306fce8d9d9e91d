"""The streaming API as Mastodon serves it: WebSocket and Server-Sent Events.

* `GET /api/v1/streaming` upgraded to a WebSocket: one connection carries many streams.
  The client sends `{"type": "subscribe" | "unsubscribe", "stream": NAME, "tag": …,
  "list": …}`; the server sends `{"stream": [NAME, (tag|list)], "event": EVENT, "payload":
  TEXT}` where TEXT is the entity as a JSON string (a status id for `delete`). A refused
  subscription is answered `{"error": …, "status": …}` on the socket, as Mastodon does.
* `GET /api/v1/streaming/user`, `/user/notification`, `/public`, `/public/local`,
  `/public/remote` (each of the three with `?only_media=true`), `/hashtag?tag=`,
  `/hashtag/local?tag=`, `/list?list=`, `/direct` (and `/api/v1/streaming?stream=NAME`):
  one stream as `text/event-stream`, `event: EVENT` and
  `data: TEXT` per event.
* `GET /api/v1/streaming/health`: `OK`.

The token comes from the Authorization header, else the `access_token` query parameter or
(WebSocket) the `Sec-WebSocket-Protocol` header, which is echoed back as the accepted
subprotocol, as browsers require. This is the one place a token in the URL is accepted:
browsers cannot put headers on a WebSocket, and every Mastodon app sends it so.
`aloft.logredact` keeps it out of the log. As in Mastodon since 4.2 every stream needs a
user's token; the public ones need no particular scope, the others `read:statuses`
(`read:notifications` for `user:notification`; the `user` stream carries notifications
only to a token that may read them).

Refusals: no or a bad token, or a scope missing: 401 (a WebSocket handshake is refused
with a 401 and `X-Error-Message`, as Mastodon's); an unknown stream or a missing tag: 400;
beyond `MAX_CONNECTIONS_PER_ACCOUNT` open streams of one account or
`MAX_CONNECTIONS_PER_IP` of one address: 429, said by name.

Heartbeats keep idle connections through proxies (HAProxy cuts a silent server after 20 s):
an SSE comment every `HEARTBEAT_SECONDS` (Mastodon's `:thump`), and WebSocket pings that
uvicorn sends every `HEARTBEAT_SECONDS` (`aloft serve` sets it).

Events come from `aloft.storage.events` (committed writes, from every app process on
PostgreSQL); `Hub` decides per event, through `aloft.services.streaming`, which viewer
sees what on which stream, renders the entity once per viewer and queues it on each of
that viewer's connections. A connection whose queue overflows (a client that does not
read) is closed rather than allowed to hold memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from aloft.api import entities
from aloft.api.responses import json_response
from aloft.errors import Forbidden, Unauthorized
from aloft.services import scopes
from aloft.services import streaming as rules
from aloft.services.auth import Viewer, authenticate
from aloft.services.lists import owns
from aloft.services.streaming import Delivery, Stream
from aloft.storage.database import Database
from aloft.storage.events import Event, Listener

log = logging.getLogger("aloft.streaming")

HEARTBEAT_SECONDS = 15.0
MAX_CONNECTIONS_PER_ACCOUNT = 32
MAX_CONNECTIONS_PER_IP = 128
MAX_SUBSCRIPTIONS = 64
QUEUE_LIMIT = 1000
# How far back a replay after a listener gap looks, before the gap began: a write holds its
# id from before its first attempt and may commit up to the write deadline later.
REPLAY_MARGIN_MS = 60_000
REMEMBERED = 20_000  # delivered event ids kept for replay dedupe
LISTEN_WAIT = 5.0  # at start-up, for the listener's first LISTEN
BATCH = 200  # events routed in one read


class StreamError(Exception):
    """A refused stream: Mastodon's status code and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# What the SSE paths stand for (Mastodon's channelNameFromPath).
PATHS = {
    "user": "user",
    "user/notification": "user:notification",
    "public": "public",
    "public/local": "public:local",
    "public/remote": "public:remote",
    "hashtag": "hashtag",
    "hashtag/local": "hashtag:local",
    "list": "list",
    "direct": "direct",
}


@dataclass(eq=False)
class Client:
    """One open streaming connection."""

    viewer: Viewer
    ip: str
    # stream → the `stream` field our messages carry (the tag as the client wrote it)
    subscriptions: dict[Stream, list[str]] = field(default_factory=dict)
    queue: asyncio.Queue[tuple[list[str], str, str | None] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )

    @property
    def account_id(self) -> int:
        assert self.viewer.account_id is not None
        return self.viewer.account_id

    def reads_notifications(self) -> bool:
        return scopes.allows(self.viewer.scopes, "read:notifications")

    def put(self, message: tuple[list[str], str, str | None] | None) -> bool:
        try:
            self.queue.put_nowait(message)
            return True
        except asyncio.QueueFull:
            return False


def resolve_stream(name: str, params: dict[str, Any], viewer: Viewer) -> tuple[Stream, list[str]]:
    """The stream a request names, checked against the token; StreamError if refused."""
    if name not in rules.STREAMS:
        raise StreamError(400, "Unknown stream type")
    if name not in rules.PUBLIC_STREAMS:
        needed = "read:notifications" if name == "user:notification" else "read:statuses"
        if not scopes.allows(viewer.scopes, needed):
            raise StreamError(401, "Access token does not have the required scopes")
    if name in ("hashtag", "hashtag:local"):
        tag = params.get("tag")
        if not isinstance(tag, str) or not rules.normalize_tag(tag):
            raise StreamError(400, "Missing tag name parameter")
        return (name, rules.normalize_tag(tag)), [name, tag]
    if name == "list":
        raw = params.get("list")
        raw = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
        if not isinstance(raw, str) or not raw:
            raise StreamError(400, "Missing list name parameter")
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise StreamError(401, "Not authorized to stream this list")
        return (name, raw), [name, raw]  # its owner is checked by `_owned`
    return (name, None), [name]


async def _owned(db: Database, stream: Stream, viewer: Viewer) -> None:
    """A list's stream is its owner's alone (Mastodon's authorizeListAccess)."""
    if stream[0] != "list" or stream[1] is None:
        return
    if not await run_in_threadpool(owns, db, viewer, int(stream[1])):
        raise StreamError(401, "Not authorized to stream this list")


class Hub:
    """This process's open streaming connections and the events that reach them."""

    def __init__(self, db: Database, base_url: str) -> None:
        self.db = db
        self.base = base_url
        self.clients: set[Client] = set()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._delivered: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None
        self._listener: Listener | None = None

    # -- life -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start routing events; on PostgreSQL, wait (up to LISTEN_WAIT) for this process's
        listener to listen, so that what is written once the app serves is heard."""
        loop = asyncio.get_running_loop()

        def sink(event: Event) -> None:
            loop.call_soon_threadsafe(self._events.put_nowait, event)

        self._unsubscribe = self.db.events.subscribe(sink)
        self._task = asyncio.create_task(self._run())
        self._end_streams_on_exit(loop)
        if self.db.is_postgres:
            self._listener = Listener(self.db.engine, self.db.events)
            self._listener.start()
            if not await run_in_threadpool(self._listener.wait_listening, LISTEN_WAIT):
                log.warning("serving before the event listener listens (it keeps trying)")

    def _end_streams_on_exit(self, loop: asyncio.AbstractEventLoop) -> None:
        """End every stream when the server is told to stop. uvicorn waits for open
        responses before it shuts down, and an event stream never ends by itself, so
        without this a stop would wait for the process manager's SIGKILL. Clients reconnect
        (behind a load balancer, to another app). Chained to uvicorn's own handlers; only
        where those are installed (the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue

            def handler(signum: int, frame: Any, previous: Any = previous) -> None:
                loop.call_soon_threadsafe(self.end_all)
                previous(signum, frame)

            signal.signal(sig, handler)

    def end_all(self) -> None:
        """Close every open stream (the clients reconnect)."""
        for client in list(self.clients):
            self._end(client)

    def _end(self, client: Client) -> None:
        self.leave(client)
        while not client.queue.empty():  # whatever was queued is dropped; then the end
            client.queue.get_nowait()
        client.put(None)

    async def stop(self) -> None:
        if self._listener is not None:
            await run_in_threadpool(self._listener.stop)
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.end_all()

    # -- connections ------------------------------------------------------------------

    def admit(self, client: Client) -> None:
        """Count the connection in, or StreamError(429) beyond the limits."""
        self.check_limits(client)
        self.clients.add(client)

    def check_limits(self, client: Client) -> None:
        """StreamError(429) if one more connection would pass the limits."""
        mine = sum(1 for c in self.clients if c.viewer.account_id == client.viewer.account_id)
        if mine >= MAX_CONNECTIONS_PER_ACCOUNT:
            raise StreamError(
                429,
                f"Too many open streams for this account (at most {MAX_CONNECTIONS_PER_ACCOUNT})",
            )
        if sum(1 for c in self.clients if c.ip == client.ip) >= MAX_CONNECTIONS_PER_IP:
            raise StreamError(
                429, f"Too many open streams from this address (at most {MAX_CONNECTIONS_PER_IP})"
            )

    def leave(self, client: Client) -> None:
        self.clients.discard(client)

    # -- events -----------------------------------------------------------------------

    async def _run(self) -> None:
        """Route events in batches: whatever queued up while the last batch was being
        routed goes in one read (see `services.streaming.route`). A gap splits a batch, and
        so does a change between conversation events and the others, which are routed by
        reads of their own (`conversations_for`): every connection gets them in order."""
        while True:
            batch = [await self._events.get()]
            while not self._events.empty() and len(batch) < BATCH:
                batch.append(self._events.get_nowait())
            pending: list[Event] = []
            for event in batch:
                if event.get("k") == "gap":
                    await self._guarded(self._dispatch(pending))
                    pending = []
                    await self._guarded(self._replay(event))
                else:
                    if pending and _talk(pending[-1]) != _talk(event):
                        await self._guarded(self._dispatch(pending))
                        pending = []
                    pending.append(event)
            await self._guarded(self._dispatch(pending))

    async def _guarded(self, work: Any) -> None:
        try:
            await work
        except Exception:
            # A database that is failing over, say: these events are lost to streams
            # (unless a replay finds them), and the next ones are tried as usual.
            log.exception("streaming: could not deliver a batch of events")

    async def _replay(self, gap: Event) -> None:
        since = int(gap["from"]) - REPLAY_MARGIN_MS
        missed = await run_in_threadpool(rules.committed_since, self.db, since)
        log.info("replaying up to %d events committed around a listener gap", len(missed))
        for first in range(0, len(missed), BATCH):
            await self._dispatch(missed[first : first + BATCH])

    def _unseen(self, events: list[Event]) -> list[Event]:
        """The events not delivered yet (a replay skips the others), now marked as seen."""
        out = []
        for event in events:
            if event.get("k") in ("status", "notification"):
                key = (str(event["k"]), int(event["id"]))
                if key in self._delivered:
                    continue
                self._delivered[key] = None
                if len(self._delivered) > REMEMBERED:
                    self._delivered.popitem(last=False)
            out.append(event)
        return out

    def _forget(self, events: list[Event]) -> None:
        """Not delivered after all: a replay after a listener gap may still deliver these."""
        for event in events:
            self._delivered.pop((str(event.get("k")), int(event.get("id", 0))), None)

    async def _dispatch(self, events: list[Event]) -> None:
        events = self._unseen(events)
        if not events or not self.clients:
            return
        audience: dict[int, set[Stream]] = defaultdict(set)
        for client in self.clients:
            audience[client.account_id] |= client.subscriptions.keys()
        audience = {viewer: streams for viewer, streams in audience.items() if streams}
        if not audience:
            return
        if _talk(events[0]):  # a run of conversation events (see _run)
            deliveries = await run_in_threadpool(rules.conversations_for, self.db, events, audience)
        else:
            try:
                routed = await run_in_threadpool(rules.route, self.db, events, audience)
            except Exception:
                self._forget(events)
                raise
            self._forget(routed.not_found)
            deliveries = routed.deliveries
        for delivery in deliveries:
            payload = self._payload(delivery)
            for client in list(self.clients):
                if client.account_id != delivery.viewer_id:
                    continue
                if delivery.event == "notification" and not client.reads_notifications():
                    continue
                for stream in delivery.streams & client.subscriptions.keys():
                    if not client.put((client.subscriptions[stream], delivery.event, payload)):
                        log.warning(
                            "streaming: a client fell %d events behind; closing it", QUEUE_LIMIT
                        )
                        self._end(client)
                        break

    def _payload(self, delivery: Delivery) -> str | None:
        if delivery.event == "filters_changed":
            return None  # Mastodon sends it without a payload
        if delivery.event == "delete":
            return str(delivery.deleted_id)
        assert delivery.bundle is not None
        if delivery.event == "conversation":
            assert delivery.conversation is not None
            entity = entities.conversation(delivery.conversation, delivery.bundle, self.base)
            return orjson.dumps(entity).decode()
        if delivery.event == "notification":
            assert delivery.notification is not None
            entity = entities.notification(delivery.notification, delivery.bundle, self.base)
        else:
            assert delivery.status is not None
            entity = entities.status(delivery.status, delivery.bundle, self.base)
        return orjson.dumps(entity).decode()


def _talk(event: Event) -> bool:
    return event.get("k") == "conversation"


# -- handshake ----------------------------------------------------------------------------


def _token(conn: HTTPConnection, websocket: bool) -> tuple[str | None, str | None]:
    """(token, subprotocol to echo): Authorization, else ?access_token=, else (WebSocket)
    Sec-WebSocket-Protocol, as Mastodon reads them."""
    kind, _, value = conn.headers.get("authorization", "").partition(" ")
    if kind.lower() == "bearer" and value.strip():
        return value.strip(), None
    query = conn.query_params.get("access_token")
    if query:
        return query, None
    if websocket:
        protocol = conn.headers.get("sec-websocket-protocol", "").strip()
        if protocol and "," not in protocol:
            return protocol, protocol
    return None, None


async def _viewer(conn: HTTPConnection, websocket: bool) -> tuple[Viewer, str | None]:
    token, subprotocol = _token(conn, websocket)
    if token is None:
        raise StreamError(401, "Missing access token")
    try:
        viewer = await run_in_threadpool(authenticate, conn.app.state.db, token)
    except (Unauthorized, Forbidden):  # unknown, revoked, or its account suspended
        raise StreamError(401, "Invalid access token") from None
    if viewer.account_id is None:  # an app's own token: there is no user to stream for
        raise StreamError(401, "Invalid access token")
    return viewer, subprotocol


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "t", "on", "yes")


def _ip(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


def _error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


# -- Server-Sent Events -------------------------------------------------------------------


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


async def sse(request: Request) -> Response:
    """One stream as text/event-stream: the path names it, or ?stream= on the bare path."""
    hub: Hub = request.app.state.streams
    rest = request.path_params.get("rest", "").strip("/")
    if rest:
        name = PATHS.get(rest)
    else:
        value = request.query_params.get("stream")
        name = value if value in rules.STREAMS else None
    if name in ("public", "public:local", "public:remote") and _truthy(
        request.query_params.get("only_media")
    ):
        name += ":media"
    if name is None:
        return _error(400, "Unknown channel requested")
    try:
        viewer, _ = await _viewer(request, websocket=False)
        stream, label = resolve_stream(name, dict(request.query_params), viewer)
        await _owned(hub.db, stream, viewer)
        client = Client(viewer, _ip(request), {stream: label})
        hub.check_limits(client)
    except StreamError as exc:
        return _error(exc.status, exc.message)

    async def events() -> AsyncIterator[bytes]:
        # Counted in only once the body is being sent: a response that never starts it
        # (HEAD, a client gone before) runs no `finally` and must not stay counted.
        hub.clients.add(client)
        try:
            yield b":)\n"
            while True:
                try:
                    message = await asyncio.wait_for(client.queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield b":thump\n"
                    continue
                if message is None:
                    return
                _, event, payload = message
                # No payload is written as Mastodon's streaming server writes it: undefined.
                data = "undefined" if payload is None else payload
                yield f"event: {event}\ndata: {data}\n\n".encode()
        finally:
            hub.leave(client)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# -- WebSocket ----------------------------------------------------------------------------


async def websocket(ws: WebSocket) -> None:
    hub: Hub = ws.app.state.streams
    try:
        viewer, subprotocol = await _viewer(ws, websocket=True)
        client = Client(viewer, _ip(ws))
        hub.admit(client)
    except StreamError as exc:
        # As Mastodon: the handshake is answered with the status, the reason in a header.
        await ws.send_denial_response(
            Response(status_code=exc.status, headers={"X-Error-Message": exc.message})
        )
        return
    try:
        await ws.accept(subprotocol=subprotocol)
        if ws.query_params.get("stream"):
            await _subscribe(ws, client, "subscribe", dict(ws.query_params))
        reader = asyncio.create_task(_read(ws, client))
        writer = asyncio.create_task(_write(ws, client))
        _done, pending = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    except WebSocketDisconnect:
        pass
    finally:
        hub.leave(client)
        with contextlib.suppress(Exception):
            await ws.close()


async def _read(ws: WebSocket, client: Client) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            # Mastodon closes on binary frames with 1003.
            await ws.close(1003, "binary messages are not supported")
            return
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            await _send_error(ws, 400, "Invalid JSON")
            continue
        if not isinstance(data, dict):
            await _send_error(ws, 400, "Invalid JSON")
            continue
        kind = data.get("type")
        if kind in ("subscribe", "unsubscribe"):
            await _subscribe(ws, client, kind, data)
        # Mastodon ignores other message types.


async def _subscribe(ws: WebSocket, client: Client, kind: str, data: dict[str, Any]) -> None:
    name = data.get("stream")
    if isinstance(name, list) and name:
        name = name[0]
    try:
        if not isinstance(name, str):
            raise StreamError(400, "Unknown stream type")
        stream, label = resolve_stream(name, data, client.viewer)
        await _owned(ws.app.state.streams.db, stream, client.viewer)
    except StreamError as exc:
        if kind == "unsubscribe":
            await _send_error(ws, None, "Error unsubscribing from channel")
        else:
            await _send_error(ws, exc.status, exc.message)
        return
    if kind == "unsubscribe":
        client.subscriptions.pop(stream, None)
    elif stream not in client.subscriptions:
        if len(client.subscriptions) >= MAX_SUBSCRIPTIONS:
            await _send_error(
                ws, 429, f"Too many subscriptions on this connection (at most {MAX_SUBSCRIPTIONS})"
            )
            return
        client.subscriptions[stream] = label


async def _send_error(ws: WebSocket, status: int | None, message: str) -> None:
    body: dict[str, Any] = {"error": message}
    if status is not None:
        body["status"] = status
    await ws.send_text(orjson.dumps(body).decode())


async def _write(ws: WebSocket, client: Client) -> None:
    while True:
        message = await client.queue.get()
        if message is None:
            await ws.close(1001)
            return
        stream, event, payload = message
        body: dict[str, Any] = {"stream": stream, "event": event}
        if payload is not None:  # filters_changed has none, and Mastodon leaves the key out
            body["payload"] = payload
        await ws.send_text(orjson.dumps(body).decode())


def routes() -> list[BaseRoute]:
    """The streaming routes (not in `aloft.api.routes.TABLE`: they are not `endpoint`
    handlers, they take the token from the URL too, and their responses never end)."""
    out: list[BaseRoute] = [
        WebSocketRoute("/api/v1/streaming", websocket),
        WebSocketRoute("/api/v1/streaming/", websocket),
        Route("/api/v1/streaming/health", health, methods=["GET", "HEAD"]),
        Route("/api/v1/streaming", sse, methods=["GET"]),
        Route("/api/v1/streaming/{rest:path}", sse, methods=["GET"]),
    ]
    return out
