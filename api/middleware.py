"""Keeps the web shop's state out of the JSON API: no cookie, no session, no login, no messages.

The API authenticates with the cart token alone. Placed before
SessionMiddleware, `ApiWithoutCookiesMiddleware` hides every cookie of an /api/
request from the middleware inside it, so a stale or malformed `sessionid` is
not deleted with a Set-Cookie and a malformed `csrftoken` is not rotated, and it
strips any cookie from the answer as the last word.

The web shop's session, authentication and messages middleware are Django's own,
except that an /api/ request passes them untouched (`SkipsApi`): it gets no
`request.session`, no `request.user` from a session and no message storage, so
nothing under /api/ can read or write the web shop's state, and no API request
pays for making them (about 60 µs of CPU per request, measured with
`python -m compare.measure.profile api_add`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponseBase

from shop import server_timing

API_PREFIX = "/api/"


class SkipsApi:
    """A Django middleware that lets every /api/ request through untouched."""

    def __call__(self, request: HttpRequest):
        if request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(SkipsApi, sessions.SessionMiddleware):
    """Django's SessionMiddleware, outside /api/ only; its sessions' store calls are timed."""

    def __init__(self, get_response) -> None:
        super().__init__(get_response)
        if server_timing.enabled():
            self.SessionStore = server_timing.timed_store(self.SessionStore)


class AuthenticationMiddleware(SkipsApi, auth.AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, outside /api/ only."""


class MessageMiddleware(SkipsApi, messages.MessageMiddleware):
    """Django's MessageMiddleware, outside /api/ only."""


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
