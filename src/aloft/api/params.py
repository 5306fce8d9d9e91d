"""Request parameters from the query string and the body (JSON, form or multipart).

Mastodon clients send parameters every which way: query strings, form bodies with
`key[]=…` arrays, multipart forms, JSON objects. `Params` merges them (body wins) and
converts values with clear 4xx errors: a missing required value is 400, a value of the
wrong type is 422.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from aloft.errors import BadRequest, FieldError, Invalid, NotFound, TooLarge

TRUE = {"true", "1", "on", "yes", "t"}
FALSE = {"false", "0", "off", "no", "f", ""}
MAX_ID = (1 << 63) - 1


def _invalid(name: str, rule: str) -> Invalid:
    """A parameter of the wrong type or shape, named in the 422's `details`."""
    return Invalid(f"{name} {rule}", [FieldError(name, "ERR_INVALID", rule)])


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than `limit` bytes before reading them all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"Request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"Request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class Params:
    """Merged, typed access to a request's parameters."""

    def __init__(self, values: dict[str, list[Any]]) -> None:
        self._values = values

    @classmethod
    async def from_request(cls, request: Request, body: bytes, files: int = 0) -> Params:
        """The query's and the body's parameters; a multipart body may carry up to `files`
        files (True is one)."""
        values: dict[str, list[Any]] = {}
        for key, value in request.query_params.multi_items():
            values.setdefault(key, []).append(value)
        if body:
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype == "application/json":
                # A JSON array stays one value: lists are for list parameters only.
                for key, value in _json_object(body).items():
                    values[key] = [value]
            elif ctype == "multipart/form-data":
                # The body is already read (and size-checked); Starlette parses its copy.
                request._body = body
                try:
                    form: FormData = await request.form(max_files=int(files), max_fields=1000)
                except HTTPException as exc:  # Starlette's answer to a malformed form
                    message = f"The request body could not be parsed: {exc.detail}"
                    raise BadRequest(message) from None
                for key, item in form.multi_items():
                    values.setdefault(key, []).append(item)
            else:
                try:
                    pairs = parse_qsl(
                        body.decode("utf-8"),
                        keep_blank_values=True,
                        max_num_fields=1000,
                        strict_parsing=False,
                    )
                except (UnicodeDecodeError, ValueError):
                    raise BadRequest("The request body could not be parsed") from None
                for key, value in pairs:
                    values.setdefault(key, []).append(value)
        return cls(values)

    def sent(self) -> frozenset[str]:
        """The names of the parameters sent, as the API description names them: `a` for
        `a`, `a[]` and `a[0][b]`, and also `a[b]` for `a[b]`, `a[b][]` and a JSON object
        `{"a": {"b": …}}`."""
        names: set[str] = set()
        for key, values in self._values.items():
            top, bracket, rest = key.partition("[")
            names.add(top)
            if bracket and rest.endswith("]") and rest != "]":
                names.add(f"{top}[{rest.split(']', 1)[0]}]")
            for value in values:
                if isinstance(value, dict):
                    names.update(f"{top}[{sub}]" for sub in value)
        return frozenset(names)

    def without_files(self) -> None:
        """BadRequest if a file was sent: on an endpoint that takes none, a file the form
        parser let through only so that a refused parameter could be named."""
        if any(isinstance(v, UploadFile) for values in self._values.values() for v in values):
            raise BadRequest("The request body could not be parsed: this endpoint takes no files")

    def _raw(self, name: str) -> list[Any] | None:
        return self._values.get(name) or self._values.get(f"{name}[]")

    def has(self, name: str) -> bool:
        return self._raw(name) is not None

    def string(self, name: str, required: bool = False, default: str | None = None) -> str | None:
        raw = self._raw(name)
        if raw is None or raw[-1] is None:
            if required:
                raise BadRequest(f"Missing required parameter: {name}")
            return default
        value = raw[-1]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _invalid(name, "must be a string")
        value = str(value)
        if "\x00" in value:
            raise _invalid(name, "must not contain NUL characters")
        if required and not value.strip():
            raise BadRequest(f"Missing required parameter: {name}")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        raw = self._raw(name)
        if raw is None or raw[-1] is None:
            return default
        value = raw[-1]
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise _invalid(name, "must be true or false")

    def number(self, name: str, default: int | None = None) -> int | None:
        raw = self._raw(name)
        if raw is None or raw[-1] in (None, ""):
            return default
        value = raw[-1]
        if isinstance(value, bool):
            raise _invalid(name, "must be a whole number")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise _invalid(name, "must be a whole number") from None
        if abs(number) > MAX_ID:
            raise _invalid(name, "is out of range")
        return number

    def id(self, name: str) -> int | None:
        """An ID parameter (a snowflake sent as a string or number)."""
        number = self.number(name)
        if number is not None and number < 0:
            raise _invalid(name, "must be an ID")
        return number

    def strings(self, name: str) -> list[str]:
        raw = self._raw(name)
        if raw is None:
            return []
        items: Iterable[Any] = [i for v in raw for i in (v if isinstance(v, list) else [v])]
        out = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise _invalid(name, "must be a list of strings")
            if "\x00" in str(item):
                raise _invalid(name, "must not contain NUL characters")
            out.append(str(item))
        return out

    def nested(self, name: str, key: str) -> str | None:
        """`name[key]` from a form or query string, or `{"name": {"key": ...}}` from JSON."""
        flat = self._values.get(f"{name}[{key}]")
        if flat:
            value = flat[-1]
        else:
            raw = self._values.get(name)
            if not raw:
                return None
            holder = raw[-1]
            if not isinstance(holder, dict):
                raise Invalid(f"{name} must be an object with {key}")
            value = holder.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise Invalid(f"{name}[{key}] must be a string")
        if "\x00" in str(value):
            raise Invalid(f"{name}[{key}] must not contain NUL characters")
        return str(value)

    def _nested_raw(self, name: str, key: str) -> list[Any] | None:
        """The values of `name[key]` / `name[key][]` (form, query) or `{"name": {"key": …}}`
        (JSON; a list stays a list of values)."""
        flat = self._values.get(f"{name}[{key}]") or self._values.get(f"{name}[{key}][]")
        if flat:
            return flat
        raw = self._values.get(name)
        if not raw:
            return None
        holder = raw[-1]
        if not isinstance(holder, dict):
            raise Invalid(f"{name} must be an object with {key}")
        value = holder.get(key)
        if value is None:
            return None
        return value if isinstance(value, list) else [value]

    def nested_has(self, name: str, key: str) -> bool:
        """Whether `name[key]` was sent at all (to tell \"not sent\" from false)."""
        return bool(self._nested_raw(name, key))

    def object_list(self, name: str) -> list[dict[str, Any]]:
        """A list of objects with their values as sent (Rails' `name[][key]` arrays, as
        `keywords_attributes`): `name[][key]=…` (the n-th object has the n-th value of each
        key), `name[N][key]=…` (ordered by N, after those), or in JSON a list of objects or
        an object of them keyed by index. Empty when not sent; 422 for any other shape."""
        held = self._values.get(name)
        if held:
            value = held[-1]
            items = list(value.values()) if isinstance(value, dict) else value
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise _invalid(name, "must be a list of objects")
            return [dict(i) for i in items]
        listed: dict[str, list[Any]] = {}
        indexed: dict[int, dict[str, Any]] = {}
        for key, values in self._values.items():
            if not key.startswith(f"{name}["):
                continue
            index, _, rest = key[len(name) + 1 :].partition("][")
            field = rest.removesuffix("]")
            if not field or "[" in field or not (index == "" or index.isdigit()):
                raise _invalid(name, "must be a list of objects")
            if index == "":
                listed[field] = values
            else:
                indexed.setdefault(int(index), {})[field] = values[-1]
        size = max((len(v) for v in listed.values()), default=0)
        out = [{k: v[i] for k, v in listed.items() if i < len(v)} for i in range(size)]
        return out + [indexed[i] for i in sorted(indexed)]

    def nested_strings(self, name: str, key: str) -> list[str]:
        """`name[key][]` as a list of strings (poll[options][])."""
        out = []
        for item in self._nested_raw(name, key) or []:
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise _invalid(f"{name}[{key}]", "must be a list of strings")
            if "\x00" in str(item):
                raise _invalid(f"{name}[{key}]", "must not contain NUL characters")
            out.append(str(item))
        return out

    def nested_flag(self, name: str, key: str) -> bool:
        raw = self._nested_raw(name, key)
        if not raw:
            return False
        value = raw[-1]
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise _invalid(f"{name}[{key}]", "must be true or false")

    def nested_number(self, name: str, key: str) -> int | None:
        raw = self._nested_raw(name, key)
        if not raw or raw[-1] in (None, ""):
            return None
        value = raw[-1]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _invalid(f"{name}[{key}]", "must be a whole number")
        try:
            number = int(value)
        except ValueError:
            raise _invalid(f"{name}[{key}]", "must be a whole number") from None
        if abs(number) > MAX_ID:
            raise _invalid(f"{name}[{key}]", "is out of range")
        return number

    def file(self, name: str) -> UploadFile | None:
        """An uploaded file (multipart, on endpoints that take uploads), or None."""
        raw = self._values.get(name)
        if raw is None:
            return None
        if not isinstance(raw[-1], UploadFile):
            raise _invalid(name, "must be a file sent as multipart/form-data")
        return raw[-1]

    def files(self, name: str) -> list[UploadFile | None]:
        """Every file sent as `name`, in order (a form with several file inputs of one
        name); None for an input left empty, which browsers send as a file without a name
        and other clients as an empty field. 422 for any other value."""
        out: list[UploadFile | None] = []
        for item in self._values.get(name, []):
            if isinstance(item, UploadFile):
                out.append(item if item.filename else None)
            elif item == "":
                out.append(None)
            else:
                raise _invalid(name, "must be a file sent as multipart/form-data")
        return out

    def ids(self, name: str) -> list[int]:
        out = []
        for item in self.strings(name):
            if not (item.isascii() and item.isdigit()) or int(item) > MAX_ID:
                raise _invalid(name, "must be a list of IDs")
            out.append(int(item))
        return out


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object")
    return data


def path_id(value: str) -> int:
    """An ID from the URL path; anything that is not one is simply not found."""
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > MAX_ID:
        raise NotFound("Record not found")
    return int(value)
