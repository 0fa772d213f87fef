"""The web shop's real answer, shown to a page's script: what browsers hide from it.

A script in a page cannot see a redirect (fetch follows it, or hands back an
opaque answer without status or headers), cannot read `Set-Cookie`, and cannot
read an HttpOnly cookie, so it cannot show what the web shop keeps sending. A
request that carries `X-Reveal-Answer: 1` still goes through the same view, the
same CSRF check and the same session middleware; on the way out its answer is
described in a JSON body: the status and `Location`, each `Set-Cookie` (name,
size, attributes, the value's first 8 characters only), the size of the
request's `Cookie` header, and the body. The cookies themselves stay on the
answer, so the browser keeps them exactly as it would have. A redirect is
answered with 200 and `X-Revealed-Status` (a script would otherwise follow it);
any other status is kept. The header is a custom one, so another site's page
cannot send it without a CORS preflight, which this shop never grants.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse

HEADER = "HTTP_X_REVEAL_ANSWER"
BODY_LIMIT = 200_000  # characters of an HTML body passed on (a checkout page is a few KB)
SHOWN_PREFIX = 8  # characters of a cookie's value shown: enough to see it change


def _cookies_sent(request: HttpRequest) -> dict[str, Any]:
    header = request.META.get("HTTP_COOKIE", "")
    return {
        "bytes": len(header.encode()),
        "cookies": [
            {"name": name, "bytes": len(name) + 1 + len(value)}
            for name, value in request.COOKIES.items()
        ],
    }


def _cookies_set(response: HttpResponseBase) -> list[dict[str, Any]]:
    described = []
    for name, morsel in response.cookies.items():
        output = morsel.OutputString()
        deleted = str(morsel["max-age"]) == "0" or "01 Jan 1970" in str(morsel["expires"])
        described.append(
            {
                "name": name,
                "value_prefix": morsel.value[:SHOWN_PREFIX],
                "value_bytes": len(morsel.value),
                "bytes": len(output.encode()),
                "attributes": output.partition("; ")[2],
                "deletes": deleted,
            }
        )
    return described


def describe(request: HttpRequest, response: HttpResponseBase) -> dict[str, Any]:
    """The answer as the server sent it, and the state-carrying header of the request."""
    streaming = getattr(response, "streaming", False)
    content = b"" if streaming else response.content
    content_type = response.get("Content-Type", "")
    body = ""
    if content_type.startswith("text/html") and not streaming:
        body = content.decode(response.charset or "utf-8", "replace")[:BODY_LIMIT]
    return {
        "request": {"method": request.method, "path": request.get_full_path()},
        "cookie_sent": _cookies_sent(request),
        "status": response.status_code,
        "reason": response.reason_phrase,
        "location": response.get("Location"),
        "set_cookie": _cookies_set(response),
        "content_type": content_type,
        "body_bytes": len(content),
        "body": body,
    }


class RevealAnswerMiddleware:
    """Describes the answer in JSON for requests that ask with `X-Reveal-Answer: 1`.

    Placed before SessionMiddleware, so that the session's `Set-Cookie` is
    already on the answer it describes. Never applies under /api/, whose answers
    a script can read as they are.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.META.get(HEADER) != "1" or request.path_info.startswith("/api/"):
            return response
        status = response.status_code
        revealed = JsonResponse(
            describe(request, response),
            status=HTTPStatus.OK if 300 <= status < 400 else status,
        )
        revealed["X-Revealed-Status"] = str(status)
        revealed["Cache-Control"] = "no-store"
        revealed.cookies = response.cookies
        if response.has_header("Vary"):
            revealed["Vary"] = response["Vary"]
        return revealed
