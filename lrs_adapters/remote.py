"""A client of a remote xAPI LRS, built on the tincan library's RemoteLRS.

tincan gives the endpoint handling, the Basic auth header, the version header and the
request objects. Two things are changed, and why:
- `_send_request` goes through one requests.Session with a timeout: tincan opens a new
  connection per request and has no timeout, so a silent LRS would hang a sync for ever
  (and a pull ran at half the speed: docs/research/ralph-peer.md).
- answers are kept as the raw bytes the remote sent (tincan's LRSResponse decodes them
  as UTF-8 text, which breaks multipart attachment data), and statements as raw JSON:
  tincan's Statement objects re-serialise what they parse, which loses what they do not
  model and would make a statement pulled twice compare unequal to itself.

Retries: connection failures, timeouts, answers cut off mid-body, 429 and 5xx are retried
with exponential backoff (honouring Retry-After); 4xx are not, since asking again changes
nothing. Every failure of requests ends as one of the errors below, which the sync and
forwarding workers handle: a raw requests exception would kill a worker or leave a sync
"running". Their messages never carry the credentials.

Redirects are not followed: an xAPI endpoint answers where it is, and following one would
take the credentials, or an owner's source (lrs_adapters.network), somewhere not checked.
For the same reason a `more` URL must keep the endpoint's scheme and server: an https
endpoint's `more` on http would send the Basic auth header in clear text.

Answers are read as a stream and given up past `max_response_bytes` (counted as they
unpack, so a compressed body cannot inflate past it): the remote of an owner's source is
wherever the owner says, and could otherwise answer with enough to exhaust the worker.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import orjson
import requests
import urllib3.exceptions
from tincan import RemoteLRS
from tincan.http_request import HTTPRequest

from lrs_adapters.network import HostNotAllowed
from portfolio.errors import InvalidStatement
from portfolio.lrs.attachments import AttachmentPart
from portfolio.lrs.multipart import multipart_body, parse_multipart
from portfolio.storage.base import AttachmentData

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_USER_INFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@")
# Small reads bound what one compressed read can unpack to beyond the cap.
_READ_CHUNK = 16 * 1024

# Failures of the exchange itself, which a later attempt may not meet: refused or dropped
# connections, timeouts, an answer cut off mid-body (ChunkedEncodingError).
_TRANSIENT: tuple[type[Exception], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
# URLs requests cannot ask at all (a port out of range, a broken host); urllib3 raises
# LocationValueError itself, unwrapped, for some (a DNS label too long).
_UNUSABLE_URL: tuple[type[Exception], ...] = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.URLRequired,
    urllib3.exceptions.LocationValueError,
)


class RemoteError(Exception):
    """A remote LRS could not be used; the message says what to do."""


class RemoteUnreachable(RemoteError):
    pass


class RemoteAuthFailed(RemoteError):
    pass


class RemoteNotConformant(RemoteError):
    pass


class RemoteForbidden(RemoteError):
    """The remote's host is not one this client may reach (lrs_adapters.network)."""


class RemoteRefused(RemoteError):
    """The remote answered with a 4xx other than 401/403 (the request was wrong)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Retry:
    attempts: int = 4
    first_delay: float = 0.5
    max_delay: float = 30.0


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def success(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class StatementPage:
    statements: list[dict[str, Any]]
    more: str | None
    parts: list[AttachmentPart]
    # X-Experience-API-Consistent-Through, when the remote says it.
    consistent_through: str | None


class RemoteClient(RemoteLRS):  # type: ignore[misc]
    """One remote LRS. Not thread-safe (one session); make one per worker."""

    # tincan objects refuse attributes they do not declare.
    _props: ClassVar[list[str]] = [
        *RemoteLRS._props,
        "timeout",
        "retry",
        "sleep",
        "session",
        "host_check",
        "max_response_bytes",
    ]

    def __init__(
        self,
        endpoint: str,
        *,
        username: str,
        password: str,
        version: str = "1.0.3",
        timeout: float = 30.0,
        retry: Retry | None = None,
        sleep: Callable[[float], None] = time.sleep,
        host_check: Callable[[str], None] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        """`host_check` is called with each URL before it is requested, and raises
        HostNotAllowed to stop it (an owner's source: lrs_adapters.network). An answer
        longer than `max_response_bytes` (unpacked) is refused as RemoteNotConformant."""
        super().__init__(endpoint=endpoint, version=version, username=username, password=password)
        self._host_check = host_check
        self._max_response_bytes = max_response_bytes
        self._timeout = timeout
        self._retry = retry or Retry()
        self._sleep = sleep
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    # ----------------------------------------------------------------- statements

    def statements(self, params: Mapping[str, str]) -> StatementPage:
        """GET /statements with these parameters."""
        request = HTTPRequest(resource="statements", method="GET", query_params=dict(params))
        return self._page(self._send_request(request))

    def more(self, more: str) -> StatementPage:
        """The page a StatementResult's `more` names (relative to the server, usually)."""
        parts = urlsplit(self.endpoint)
        try:
            url = urljoin(f"{parts.scheme}://{parts.netloc}/", more)
            target = urlsplit(url)
        except ValueError:  # such as an unclosed IPv6 bracket
            raise RemoteNotConformant(f"the `more` URL {more!r} is not a URL") from None
        if (target.scheme, target.netloc) != (parts.scheme, parts.netloc):
            # Our credentials must go to the endpoint's server only, and as securely: an
            # https endpoint's `more` on http would send them in clear text.
            raise RemoteNotConformant(
                f"the `more` URL {more!r} points to another server or scheme than"
                f" {parts.scheme}://{parts.netloc}"
            )
        return self._page(self._send_request(HTTPRequest(resource=url, method="GET")))

    def post_statements(self, body: bytes, attachments: Sequence[AttachmentData] = ()) -> list[str]:
        """POST a JSON array of statements, as multipart/mixed with the attachment data
        when there is some; the ids the remote answered with (a 204 with no body, as when
        every statement was known already, gives none)."""
        if attachments:
            content, content_type = multipart_body(body, attachments)
        else:
            content, content_type = body, "application/json"
        response = self._send(
            "POST", "statements", headers={"Content-Type": content_type}, content=content
        )
        self._raise_for(response, "POST statements")
        if not response.body:
            return []
        try:
            ids = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            raise RemoteNotConformant("POST statements answered with something not JSON") from None
        return [str(i) for i in ids] if isinstance(ids, list) else []

    def may_read(self) -> bool:
        """Sign in with one GET: True when the credentials may read statements, False
        when they are good but may not (a 403: a key that only writes, as forwarding
        needs); raises RemoteAuthFailed and the rest as any request does."""
        response = self._send("GET", "statements", params={"limit": "1"})
        if response.status == 403:
            return False
        self._raise_for(response, "GET statements")
        return True

    def check(self) -> str:
        """Sign in and read one statement: raise what would stop a sync; return the
        version the remote says in /about, or "" when it has no /about (Ralph)."""
        self.statements({"limit": "1"})
        about = self._send_request(HTTPRequest(resource="about", method="GET"))
        if not about.success:
            return ""
        try:
            versions = orjson.loads(about.body).get("version") or []
        except (orjson.JSONDecodeError, AttributeError):
            return ""
        return str(versions[-1]) if versions else ""

    # ------------------------------------------------------------------ plumbing

    def _page(self, response: Reply) -> StatementPage:
        self._raise_for(response, "GET statements")
        content_type = response.headers.get("Content-Type", "")
        body: bytes = response.body
        parts: list[AttachmentPart] = []
        if content_type.lower().startswith("multipart/mixed"):
            try:
                body, parts = parse_multipart(body, content_type)
            except InvalidStatement as exc:
                raise RemoteNotConformant(f"a multipart StatementResult is broken: {exc}") from None
        try:
            result = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RemoteNotConformant(
                f"GET statements answered with something not JSON ({content_type or 'no type'})"
            ) from None
        statements = result.get("statements") if isinstance(result, dict) else None
        more = result.get("more") if isinstance(result, dict) else None
        if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
            raise RemoteNotConformant("GET statements did not answer with a StatementResult")
        if more is not None and not isinstance(more, str):
            raise RemoteNotConformant("the StatementResult's `more` is not a string")
        return StatementPage(
            statements=statements,
            more=more or None,
            parts=parts,
            consistent_through=response.headers.get("X-Experience-API-Consistent-Through"),
        )

    def _raise_for(self, response: Reply, what: str) -> None:
        if response.success:
            return
        status = response.status
        if status in (401, 403):
            raise RemoteAuthFailed(
                f"{self.endpoint} refused the credentials ({what}: HTTP {status}):"
                " check the key and secret"
            )
        detail = _short(response.body)
        if 300 <= status < 400:
            location = response.headers.get("Location", "elsewhere")
            raise RemoteRefused(
                f"{what}: HTTP {status}: redirected to {location}; redirects are not"
                " followed: give the endpoint it names",
                status=status,
            )
        if 400 <= status < 500:
            raise RemoteRefused(f"{what}: HTTP {status}: {detail}", status=status)
        raise RemoteUnreachable(f"{what}: HTTP {status} after retries: {detail}")

    def _send_request(self, request: HTTPRequest) -> Reply:
        """tincan's request (what RemoteLRS's own methods build), sent by `_send`."""
        return self._send(
            request.method,
            request.resource,
            params=request.query_params,
            headers=request.headers,
            content=getattr(request, "content", None),
        )

    def _send(
        self,
        method: str,
        resource: str,
        *,
        params: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
    ) -> Reply:
        """One request through the session, with a timeout and retries. Content is sent
        as given: tincan's HTTPRequest would decode bytes as UTF-8, which attachment
        data is not."""
        url = resource if resource.startswith("http") else self.endpoint + resource
        sent_headers = {"X-Experience-API-Version": self.version, **(headers or {})}
        if self.auth is not None:
            sent_headers["Authorization"] = self.auth
        query = {k: str(v) for k, v in (params or {}).items()}
        if self._host_check is not None:
            try:
                self._host_check(url)
            except HostNotAllowed as exc:
                raise RemoteForbidden(str(exc)) from None
        delay = self._retry.first_delay
        for attempt in range(1, self._retry.attempts + 1):
            # Messages name the exception's type only: what requests says may quote the
            # headers sent, the Authorization header among them.
            try:
                reply = self._exchange(method, url, query, content, sent_headers)
            except _TRANSIENT as exc:
                if attempt == self._retry.attempts:
                    raise RemoteUnreachable(
                        f"{self.endpoint} cannot be reached ({type(exc).__name__})"
                        f" after {attempt} attempts"
                    ) from None
            except _UNUSABLE_URL as exc:
                raise RemoteNotConformant(
                    f"cannot ask {_without_secrets(url)}: not a usable URL"
                    f" ({type(exc).__name__}); check the endpoint"
                ) from None
            except requests.exceptions.ContentDecodingError:
                raise RemoteNotConformant(
                    f"{method} {_without_secrets(url)} answered with a body that cannot be"
                    " decoded as its Content-Encoding says"
                ) from None
            except requests.RequestException as exc:
                raise RemoteError(
                    f"{method} {_without_secrets(url)} failed ({type(exc).__name__})"
                ) from None
            else:
                if reply.status not in _RETRY_STATUSES or attempt == self._retry.attempts:
                    return reply
                delay = max(delay, _retry_after(reply.headers))
            self._sleep(min(delay, self._retry.max_delay))
            delay *= 2
        raise AssertionError("unreachable")  # the loop returns or raises

    def _exchange(
        self,
        method: str,
        url: str,
        query: Mapping[str, str],
        content: bytes | str | None,
        headers: Mapping[str, str],
    ) -> Reply:
        """One request and its whole answer, read as a stream up to the size cap."""
        response = self._session.request(
            method,
            url,
            params=query,
            data=content,
            headers=headers,
            timeout=self._timeout,
            allow_redirects=False,
            stream=True,
        )
        try:
            return Reply(response.status_code, response.headers, self._body(response, method))
        finally:
            # Given up part-way, the connection is dropped rather than drained.
            response.close()

    def _body(self, response: requests.Response, method: str) -> bytes:
        """The answer's body, unpacked; RemoteNotConformant past the cap."""
        cap = self._max_response_bytes
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > cap:
            raise _too_big(response, method, cap)  # not worth waiting for
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=_READ_CHUNK):
            size += len(chunk)
            if size > cap:
                raise _too_big(response, method, cap)
            chunks.append(chunk)
        return b"".join(chunks)


def _too_big(response: requests.Response, method: str, cap: int) -> RemoteNotConformant:
    return RemoteNotConformant(
        f"{method} {_without_secrets(response.url)} answered with more than {cap} bytes"
        " (the limit for one answer)"
    )


def _retry_after(headers: Mapping[str, str]) -> float:
    try:
        return float(headers.get("Retry-After", 0))
    except ValueError:
        return 0.0


def _without_secrets(url: str) -> str:
    """The URL to name in a message: no user info, query or fragment. Textual, since the
    URL may be one urlsplit refuses (it is named because it is unusable)."""
    base = url.split("#", 1)[0].split("?", 1)[0]
    return _USER_INFO.sub(r"\1", base)


def _short(data: bytes | str | None) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")
    return " ".join(text.split())[:300] or "(no body)"
