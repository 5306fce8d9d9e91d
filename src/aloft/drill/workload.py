"""The drill's workload: concurrent Mastodon-API clients, one thread and one account each.

Each client posts, follows the other clients and reads its home timeline, through the one
URL it is given (HAProxy, in a cluster), until it is told to stop. There are two kinds.

A **careful** client behaves like a careful app:

* every post carries a fresh Idempotency-Key, and a post that meets a network error, a
  timeout, a 429 or a 5xx is sent again **with the same key** (jittered backoff, 0.1 s
  doubling to 1 s) until it is answered or `write_budget` runs out; a follow is retried the
  same way (it is idempotent by nature); a read has a shorter `read_budget`;
* every HTTP request has its own deadline (`request_timeout`), so a hung server costs one
  attempt, never the drill;
* each logical operation is recorded once, with its final outcome: `ok` when answered with
  success, `fail` when the server refused it outright (4xx other than 408 and 429, or a read
  answered 5xx at the end of its budget), `info` when we cannot know (the budget ran out on a
  timeout, a broken connection, or a write's 5xx).

A **plain** client behaves like most apps: it sends every request exactly once, waits up to
`plain_timeout` for the answer, and never retries (its posts still carry an
Idempotency-Key, as Mastodon's own apps send one). Only a 2xx is `ok`. A definite refusal
(4xx other than 408 and 429) is `fail`; anything else — a 5xx, 408, 429, 3xx, timeout or
broken connection — is `info` for a write (it may have happened) and `fail` for a read (a
read that got no answer did not happen).

Besides the writers, `readers` careful clients only read (see `Reader`), and one streaming
client keeps a WebSocket on the public stream and records what arrives when
(`aloft.drill.stream`).

A read of the home timeline records the ids it was shown; a write records the database
server that acknowledged it, when the app names it in the `Aloft-Database-Server` header
(`ALOFT_DRILL_HEADERS=on`).

The post's text carries its key (`key=<32 hex>`), so that the final read can tell which post
each status came from. Traffic goes to 127.0.0.0/8, or to hosts the caller names (a
cluster's own zone addresses), only: `loopback_url` refuses anything else before any
request is made.
"""

from __future__ import annotations

import ipaddress
import random
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx

from aloft.drill.history import (
    HOME_PAGE_LIMIT,
    ClientKind,
    FinalStatus,
    Operation,
    Outcome,
    Recorder,
)
from aloft.drill.stream import Streamer

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
# The header in which the app names the database server a write committed on (drill mode).
SERVER_HEADER = "Aloft-Database-Server"
KEY_IN_TEXT = re.compile(r"key=([0-9a-f]{32})")
SCOPES = "read write follow"
MAX_CLIENTS = 64


class WorkloadError(Exception):
    """The workload could not be set up or read back; the message says why, in one line."""


@dataclass(frozen=True)
class WorkloadSettings:
    """How the workload behaves; these defaults are the drill's defaults (the CLI passes on
    only what it is given)."""

    clients: int = 8  # careful writing clients
    plain_clients: int = 8  # plain writing clients: each request sent once
    plain_timeout: float = 90.0  # how long a plain client waits for one answer
    request_timeout: float = 10.0  # one HTTP request of a careful client
    write_budget: float = 60.0  # all attempts of one post or follow
    # All attempts of one read: more than one request timeout, so a read that went to an app
    # frozen at that moment is tried again elsewhere before the careful client gives up.
    read_budget: float = 30.0
    think_time: float = 0.05  # pause between two operations of one client
    post_share: float = 0.6
    follow_share: float = 0.1  # the rest reads the home timeline
    # Clients that only read, so read availability is measured even while every writing
    # client is waiting out a write stall (a writer reads only between its own writes).
    readers: int = 2
    # One streaming client on the public stream (aloft.drill.stream), for the stream gap.
    stream: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.clients <= MAX_CLIENTS:
            raise WorkloadError(f"clients must be 1 to {MAX_CLIENTS}, not {self.clients}")
        if not 0 <= self.plain_clients <= MAX_CLIENTS:
            raise WorkloadError(
                f"plain clients must be 0 to {MAX_CLIENTS}, not {self.plain_clients}"
            )
        if self.plain_timeout <= 0:
            raise WorkloadError(f"plain timeout must be more than 0 s, not {self.plain_timeout}")

    @property
    def writers(self) -> int:
        """Every client that writes: careful and plain."""
        return self.clients + self.plain_clients


@dataclass(frozen=True)
class Account:
    process: int
    id: str
    username: str
    token: str


def loopback_url(url: str, allowed: Iterable[str] = ()) -> str:
    """The URL with its host as an IPv4 address in 127.0.0.0/8 ("localhost" becomes
    127.0.0.1) or one of the `allowed` addresses (a cluster's own hosts); WorkloadError for
    any other host, so a drill never sends traffic elsewhere."""
    extra = sorted(set(allowed))
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise WorkloadError(f"bad URL {url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise WorkloadError(f"bad URL {url!r}: expected http://127.x.y.z:PORT")
    host = "127.0.0.1" if parsed.host == "localhost" else parsed.host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    loopback = address is not None and address.version == 4 and address in LOOPBACK
    if not loopback and not _is_allowed(host, extra):
        also = f" and the cluster's hosts {', '.join(extra)}" if extra else ""
        raise WorkloadError(
            f"refusing to send drill traffic to {parsed.host}: only 127.0.0.0/8 addresses "
            f"(or localhost){also} are allowed"
        )
    return str(parsed.copy_with(host=host, path="", query=None, fragment=None)).rstrip("/")


def _is_allowed(host: str, allowed: list[str]) -> bool:
    """Whether `host` is one of `allowed` (addresses compared as addresses, names as text)."""
    return any(_same_host(host, other) for other in allowed)


def _same_host(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a.lower() == b.lower()


def _http(base_url: str, timeout: float, token: str | None = None) -> httpx.Client:
    headers = {"User-Agent": "aloft-drill"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    # trust_env off: no proxy from the environment may carry the traffic elsewhere.
    return httpx.Client(
        base_url=base_url,
        headers=headers,
        timeout=timeout,
        trust_env=False,
        follow_redirects=False,
    )


# -- one logical operation, however many attempts it takes ------------------------------------


@dataclass(frozen=True)
class Attempts:
    outcome: Outcome
    response: httpx.Response | None
    count: int
    error: str | None


def attempt(
    send: Callable[[], httpx.Response],
    budget: float,
    write: bool,
    sleep: Callable[[float], Any] = time.sleep,
) -> Attempts:
    """Call `send` until it is answered with success or a definite refusal, or `budget`
    seconds have passed. See the module docstring for how outcomes are decided."""
    deadline = time.monotonic() + budget
    delay = 0.1
    count = 0
    while True:
        count += 1
        retry_after = 0.0
        try:
            response = send()
        except httpx.TimeoutException:
            error, answered = "timeout", False
        except httpx.TransportError as exc:
            error, answered = f"{type(exc).__name__}: {exc}"[:160], False
        else:
            code = response.status_code
            if code < 400:
                return Attempts("ok", response, count, None)
            error, answered = f"HTTP {code}: {response.text[:120]}", True
            if code not in (408, 429) and code < 500:
                return Attempts("fail", response, count, error)
            retry_after = _retry_after(response)
        wait = max(delay * random.uniform(0.5, 1.0), retry_after)
        if time.monotonic() + wait >= deadline:
            # An unanswered request, or a write answered 5xx, may still have happened.
            outcome: Outcome = "info" if write or not answered else "fail"
            return Attempts(outcome, None, count, error)
        sleep(wait)
        delay = min(delay * 2, 1.0)


def once(send: Callable[[], httpx.Response], write: bool) -> Attempts:
    """Call `send` exactly once, as a plain app would. See the module docstring for how
    outcomes are decided."""
    try:
        response = send()
    except httpx.TimeoutException:
        return Attempts(_unanswered(write), None, 1, "timeout")
    except httpx.TransportError as exc:
        return Attempts(_unanswered(write), None, 1, f"{type(exc).__name__}: {exc}"[:160])
    code = response.status_code
    if 200 <= code < 300:
        return Attempts("ok", response, 1, None)
    error = f"HTTP {code}: {response.text[:120]}"
    if 400 <= code < 500 and code not in (408, 429):
        return Attempts("fail", response, 1, error)
    return Attempts(_unanswered(write), response, 1, error)


def _unanswered(write: bool) -> Outcome:
    """A request without a definite answer: a write may have happened, a read did not."""
    return "info" if write else "fail"


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("retry-after", "0")), 5.0)
    except ValueError:
        return 0.0


# -- setting up accounts ----------------------------------------------------------------------


def register_accounts(base_url: str, run_id: str, settings: WorkloadSettings) -> list[Account]:
    """One new account per writing client (careful ones first, then plain ones), registered
    through the API as an app would: register an app, take a client-credentials token,
    POST /api/v1/accounts, then verify_credentials."""
    with _http(base_url, settings.request_timeout * 3) as http:
        app = _setup_call(
            http,
            "register the drill app",
            "POST",
            "/api/v1/apps",
            data={
                "client_name": "aloft drill",
                "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": SCOPES,
            },
        )
        app_token = _setup_call(
            http,
            "get an app token",
            "POST",
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "scope": SCOPES,
            },
        )["access_token"]
        accounts = []
        for process in range(settings.writers):
            username = f"drill_{run_id}_{process}"
            token = _setup_call(
                http,
                f"register account {username}",
                "POST",
                "/api/v1/accounts",
                headers={"Authorization": f"Bearer {app_token}"},
                data={
                    "username": username,
                    "email": f"{username}@drill.invalid",
                    "password": secrets.token_urlsafe(18),
                    "agreement": "true",
                },
            )["access_token"]
            me = _setup_call(
                http,
                f"verify account {username}",
                "GET",
                "/api/v1/accounts/verify_credentials",
                headers={"Authorization": f"Bearer {token}"},
            )
            accounts.append(Account(process, str(me["id"]), username, token))
    return accounts


def _setup_call(http: httpx.Client, what: str, method: str, path: str, **kwargs: Any) -> Any:
    try:
        response = http.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise WorkloadError(f"could not {what} at {http.base_url}: {exc}") from None
    if response.status_code == 429:
        raise WorkloadError(
            f"could not {what}: rate limited (429); run the server with ALOFT_RATE_LIMITS=off"
        )
    if response.status_code >= 400:
        raise WorkloadError(f"could not {what}: HTTP {response.status_code} {response.text[:200]}")
    try:
        return response.json()
    except ValueError:
        raise WorkloadError(f"could not {what}: the answer is not JSON") from None


# -- the clients --------------------------------------------------------------------------------


class Client(threading.Thread):
    """One careful client: one account's loop of operations until `halt` is set. An
    operation in progress when `halt` is set is finished (within its budget), never
    abandoned."""

    kind: ClientKind = "careful"

    def __init__(
        self,
        account: Account,
        peers: list[Account],
        base_url: str,
        recorder: Recorder,
        halt: threading.Event,
        settings: WorkloadSettings,
        run_id: str,
    ) -> None:
        super().__init__(name=f"drill-{self.kind}-{account.process}", daemon=True)
        self.account = account
        self.peers = [p for p in peers if p.process != account.process]
        self.base_url = base_url
        self.recorder = recorder
        self.halt = halt
        self.settings = settings
        self.run_id = run_id
        self.random = random.Random(f"{run_id}-{account.process}")
        self.followed: set[str] = set()
        self.posts = 0
        self.process = account.process

    def timeout(self) -> float:
        """The deadline of one HTTP request."""
        return self.settings.request_timeout

    def call(self, send: Callable[[], httpx.Response], write: bool) -> Attempts:
        """One logical operation: retried within the write or read budget."""
        budget = self.settings.write_budget if write else self.settings.read_budget
        return attempt(send, budget, write)

    def run(self) -> None:
        with _http(self.base_url, self.timeout(), self.account.token) as http:
            while not self.halt.is_set():
                roll = self.random.random()
                unfollowed = [p for p in self.peers if p.id not in self.followed]
                if roll < self.settings.post_share:
                    self.post(http)
                elif roll < self.settings.post_share + self.settings.follow_share and unfollowed:
                    self.follow(http, self.random.choice(unfollowed))
                else:
                    self.read_home(http)
                self.halt.wait(self.settings.think_time * self.random.uniform(0.5, 1.5))

    def _record(self, kind: str, invoke: float, result: Attempts, **fields: Any) -> None:
        self.recorder.operation(
            Operation(
                process=self.process,
                kind=kind,
                invoke=round(invoke, 6),
                complete=round(self.recorder.now(), 6),
                outcome=result.outcome,
                attempts=result.count,
                error=result.error,
                client=self.kind,
                **fields,
            )
        )

    def post(self, http: httpx.Client) -> None:
        self.posts += 1
        key = uuid.uuid4().hex
        text = f"drill {self.run_id} client {self.account.process} post {self.posts} key={key}"
        invoke = self.recorder.now()
        result = self.call(
            lambda: http.post(
                "/api/v1/statuses", data={"status": text}, headers={"Idempotency-Key": key}
            ),
            write=True,
        )
        status_id = None
        if result.response is not None and result.outcome == "ok":
            status_id = _json_field(result.response, "id")
            if status_id is None:
                result = Attempts("info", None, result.count, "success without a status id")
        self._record("post", invoke, result, key=key, status_id=status_id, server=_server(result))

    def follow(self, http: httpx.Client, peer: Account) -> None:
        invoke = self.recorder.now()
        result = self.call(lambda: http.post(f"/api/v1/accounts/{peer.id}/follow"), write=True)
        if result.outcome == "ok":
            self.followed.add(peer.id)
        self._record("follow", invoke, result, target=peer.id, server=_server(result))

    def read_home(self, http: httpx.Client) -> None:
        invoke = self.recorder.now()
        result = self.call(
            lambda: http.get("/api/v1/timelines/home", params={"limit": HOME_PAGE_LIMIT}),
            write=False,
        )
        ids = None
        if result.outcome == "ok":
            ids = _status_ids(_json(result.response))
            if ids is None:
                result = Attempts("fail", None, result.count, "home timeline is not a JSON list")
        self._record("read_home", invoke, result, ids=ids)


class PlainClient(Client):
    """A client that sends every request once and waits up to `plain_timeout` for it, as
    most apps do: any answer but a 2xx is an error it shows its user."""

    kind: ClientKind = "plain"

    def timeout(self) -> float:
        return self.settings.plain_timeout

    def call(self, send: Callable[[], httpx.Response], write: bool) -> Attempts:
        return once(send, write)


def _json(response: httpx.Response | None) -> Any:
    if response is None:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _json_field(response: httpx.Response, name: str) -> str | None:
    body = _json(response)
    value = body.get(name) if isinstance(body, dict) else None
    return str(value) if value is not None else None


def _status_ids(page: Any) -> list[str] | None:
    """The ids of a page of statuses, in its order; None unless it is a list of statuses."""
    if not isinstance(page, list):
        return None
    ids = [status.get("id") if isinstance(status, dict) else None for status in page]
    if any(status_id is None for status_id in ids):
        return None
    return [str(status_id) for status_id in ids]


def _server(result: Attempts) -> str | None:
    """The database server an acknowledged write committed on, when the app says."""
    if result.outcome != "ok" or result.response is None:
        return None
    return result.response.headers.get(SERVER_HEADER) or None


class Reader(Client):
    """A careful client that only reads its account's home timeline, as its own process
    (numbered after the writers) so its history is apart from the writers'."""

    def __init__(self, *args: Any, process: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.name = f"drill-reader-{process}"
        self.process = process

    def run(self) -> None:
        with _http(self.base_url, self.timeout(), self.account.token) as http:
            while not self.halt.is_set():
                self.read_home(http)
                self.halt.wait(self.settings.think_time * self.random.uniform(0.5, 1.5))


class Workload:
    """The clients of one drill: `setup` registers their accounts, `start` lets them loose,
    `stop` asks them to finish their current operation, `join` waits until they have.

    Processes are numbered: careful writers first, then plain writers, then readers.
    `allowed` names hosts besides 127.0.0.0/8 that traffic may go to (a cluster's own)."""

    def __init__(
        self, base_url: str, settings: WorkloadSettings, run_id: str, allowed: Iterable[str] = ()
    ) -> None:
        self.allowed = list(allowed)
        self.base_url = loopback_url(base_url, self.allowed)
        self.settings = settings
        self.run_id = run_id
        self.accounts: list[Account] = []
        self._halt = threading.Event()
        self._clients: list[Client] = []
        self._streamer: Streamer | None = None

    def setup(self) -> list[Account]:
        self.accounts = register_accounts(self.base_url, self.run_id, self.settings)
        return self.accounts

    def kind_of(self, account: Account) -> ClientKind:
        """The kind of client that writes as `account`."""
        return "careful" if account.process < self.settings.clients else "plain"

    def start(self, recorder: Recorder) -> None:
        common = (self.accounts, self.base_url, recorder, self._halt, self.settings, self.run_id)
        careful = self.accounts[: self.settings.clients]
        plain = self.accounts[self.settings.clients :]
        self._clients = [Client(account, *common) for account in careful]
        self._clients += [PlainClient(account, *common) for account in plain]
        first_reader = max(a.process for a in self.accounts) + 1
        self._clients += [
            Reader(account, *common, process=first_reader + i)
            for i, account in enumerate(careful[: self.settings.readers])
        ]
        if self.settings.stream and self.accounts:
            self._streamer = Streamer(self.base_url, self.accounts[0].token, recorder, self._halt)
            self._streamer.start()
        for client in self._clients:
            client.start()

    def stop(self) -> None:
        """Ask every client to stop after its current operation (returns at once)."""
        self._halt.set()

    def join(self) -> None:
        """Wait for the clients to finish: at most one operation (a careful one's budget and
        a request, or a plain one's single request)."""
        settings = self.settings
        longest = settings.write_budget + 2 * settings.request_timeout
        if settings.plain_clients:
            longest = max(longest, settings.plain_timeout + 1.0)
        limit = time.monotonic() + longest
        for client in self._clients:
            client.join(max(0.0, limit - time.monotonic()))
        if self._streamer is not None:
            self._streamer.join(max(1.0, limit - time.monotonic()))


# -- the final read -----------------------------------------------------------------------------


def read_back(
    base_url: str,
    accounts: list[Account],
    settings: WorkloadSettings,
    budget: float = 60.0,
    allowed: Iterable[str] = (),
) -> list[FinalStatus]:
    """Every status of every account, page by page (newest first, 40 at a time), each page
    retried within `budget`. WorkloadError if a page cannot be read: a final read with holes
    would make the checker report posts as lost that are not."""
    found: list[FinalStatus] = []
    base_url = loopback_url(base_url, allowed)
    for account in accounts:
        with _http(base_url, settings.request_timeout, account.token) as http:
            max_id: str | None = None
            while True:
                params: dict[str, Any] = {"limit": 40}
                if max_id is not None:
                    params["max_id"] = max_id
                path = f"/api/v1/accounts/{account.id}/statuses"
                result = attempt(partial(http.get, path, params=params), budget, write=False)
                page = _json(result.response) if result.outcome == "ok" else None
                if not isinstance(page, list):
                    raise WorkloadError(
                        f"final read of @{account.username} failed: {result.error or 'not a list'}"
                    )
                if not page:
                    break
                for status in page:
                    match = KEY_IN_TEXT.search(str(status.get("content", "")))
                    found.append(
                        FinalStatus(
                            str(status["id"]), account.id, match.group(1) if match else None
                        )
                    )
                max_id = str(page[-1]["id"])
    return found
