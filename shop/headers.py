"""Response headers of every page: the Content-Security-Policy on Django 5.2.

Django 6.0 and later send the policy themselves (`SECURE_CSP` with
`django.middleware.csp.ContentSecurityPolicyMiddleware`); on 5.2 this middleware
sends the same header from the same setting, so there is one policy for both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


def policy_header(policy: Mapping[str, Sequence[str] | bool]) -> str:
    """The header value of a policy written as Django 6's SECURE_CSP dict."""
    parts = []
    for directive, values in policy.items():
        if values is True:
            parts.append(directive)
        elif values:
            parts.append(f"{directive} {' '.join(values)}")
    return "; ".join(parts)


class ContentSecurityPolicyMiddleware:
    """Send SECURE_CSP as Content-Security-Policy on every answer that has none yet."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.value = policy_header(settings.SECURE_CSP)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.value and HEADER not in response:
            response[HEADER] = self.value
        return response
