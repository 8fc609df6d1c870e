"""The alternate request syntax of xAPI 1.0.3 (Communication 1.3), as WSGI middleware.

`POST /xapi/statements?method=PUT` with a form body becomes the PUT it stands for: the
form fields Authorization, X-Experience-API-Version, Content-Type, Content-Length,
If-Match and If-None-Match act as headers, `content` is the body, and every other field
is a query parameter. It has to happen before Flask routes the request, because it
changes the method. A malformed alternate request is not answered here: the problem is
left in the environ and `service.xapi` raises it as a 400 with the usual JSON body.

Communication 1.3 gives the rules checked here: the request is a POST, `method` is the
only query parameter, and the body is form-encoded. xAPI 2.0.0 removed the syntax; a
form asking for 2.0 is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ERROR_KEY = "cpdfolio.alternate_error"
FLAG_KEY = "cpdfolio.alternate"
FORM_TYPE = "application/x-www-form-urlencoded"
METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
_HEADER_FIELDS = {
    "authorization": "HTTP_AUTHORIZATION",
    "x-experience-api-version": "HTTP_X_EXPERIENCE_API_VERSION",
    "content-type": "CONTENT_TYPE",
    "if-match": "HTTP_IF_MATCH",
    "if-none-match": "HTTP_IF_NONE_MATCH",
}


class AlternateRequestSyntax:
    def __init__(self, app: WSGIApplication, *, prefix: str, max_body_bytes: int) -> None:
        self.app = app
        self.prefix = prefix
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith(self.prefix):
            self._rewrite(environ)
        return self.app(environ, start_response)

    def _rewrite(self, environ: dict[str, Any]) -> None:
        query = parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        content_type = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
        has_method = any(name == "method" for name, _ in query)
        if not has_method:
            if environ.get("REQUEST_METHOD") == "POST" and content_type == FORM_TYPE:
                # Communication 3.2.s3.b6: a form post must say which method it stands for.
                environ[ERROR_KEY] = ("method", "is required in the query string of a form post")
            return
        if environ.get("REQUEST_METHOD") != "POST":
            environ[ERROR_KEY] = ("method", "may only be used on a POST request")
            return
        if len(query) != 1:
            other = next(name for name, _ in query if name != "method")
            environ[ERROR_KEY] = (other, "must be sent as a form field, not in the query string")
            return
        method = query[0][1].upper()
        if method not in METHODS:
            environ[ERROR_KEY] = ("method", f"must be one of {', '.join(METHODS)}")
            return
        if content_type != FORM_TYPE:
            environ[ERROR_KEY] = ("Content-Type", f"must be {FORM_TYPE} with the method parameter")
            return
        body = self._read_body(environ)
        if body is None:
            return
        try:
            form = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            environ[ERROR_KEY] = ("content", "must be UTF-8 (Communication 1.3.s3.b5)")
            return

        params: list[tuple[str, str]] = []
        content = b""
        environ.pop("CONTENT_TYPE", None)
        for name, value in form:
            lowered = name.lower()
            if name == "content":
                content = value.encode("utf-8")
            elif lowered in _HEADER_FIELDS:
                environ[_HEADER_FIELDS[lowered]] = value
            elif lowered == "content-length":
                continue  # recomputed below from `content`
            else:
                params.append((name, value))
        version = str(environ.get("HTTP_X_EXPERIENCE_API_VERSION", "")).strip()
        if version.startswith("2."):
            environ[ERROR_KEY] = ("method", "the alternate request syntax is not part of xAPI 2.0")
            return
        environ["REQUEST_METHOD"] = method
        environ["QUERY_STRING"] = urlencode(params)
        environ["wsgi.input"] = BytesIO(content)
        environ["CONTENT_LENGTH"] = str(len(content))
        if content and "CONTENT_TYPE" not in environ:
            environ["CONTENT_TYPE"] = "application/json"
        environ[FLAG_KEY] = True

    def _read_body(self, environ: dict[str, Any]) -> bytes | None:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.max_body_bytes:
            environ[ERROR_KEY] = ("content", "is larger than this server accepts (max_body_bytes)")
            environ["cpdfolio.alternate_too_large"] = True
            return None
        body: bytes = environ["wsgi.input"].read(length) if length else b""
        return body
