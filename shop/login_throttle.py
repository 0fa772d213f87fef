"""The answer to a login refused by the throttle, for the web shop, the admin and the API.

django-axes counts failed logins per account and per client address in the database
(shared by every process) and refuses the next attempt once either reaches
AXES_FAILURE_LIMIT; this module words that refusal. The API gets it as JSON in its
usual `{detail, code}` shape, every page as a 429 page.
"""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

CODE = "login_throttled"


def lockout_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_message() -> str:
    minutes = max(1, round(lockout_seconds() / 60))
    return (
        f"Too many failed logins for this account or from your address "
        f"({settings.AXES_FAILURE_LIMIT} in a row): logging in is refused for "
        f"{minutes} minute{'s' if minutes != 1 else ''}, even with the right password."
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """429 with Retry-After: JSON under /api/, a page everywhere else."""
    retry = {"Retry-After": str(lockout_seconds())}
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": lockout_message(), "code": CODE},
            status=HTTPStatus.TOO_MANY_REQUESTS,
            headers=retry,
        )
    response = render(
        request,
        "registration/locked_out.html",
        {"message": lockout_message()},
        status=HTTPStatus.TOO_MANY_REQUESTS,
    )
    response["Retry-After"] = retry["Retry-After"]
    return response
