"""Keeps cookies out of the JSON API: none is read, none is ever set.

The API authenticates with the cart token alone. Placed before
SessionMiddleware, this middleware hides every cookie of an /api/ request from
the middleware inside it, so a stale or malformed `sessionid` is not deleted
with a Set-Cookie and a malformed `csrftoken` is not rotated, and it strips any
cookie from the answer as the last word.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

API_PREFIX = "/api/"


class ApiWithoutCookiesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        # Replaces the lazily parsed cookies without parsing the Cookie header.
        request.COOKIES = {}
        response = self.get_response(request)
        if response.cookies:
            response.cookies.clear()
        if response.has_header("Set-Cookie"):
            del response["Set-Cookie"]
        return response
