"""Plumbing shared by every API view: errors with a `code`, cookie-free renderers, the base view.

Every view of the API is stateless: token authentication only (no session, so no
CSRF), JSON in, JSON (or the browsable API) out, and no cookie set.
"""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http.request import QueryDict
from django.utils.datastructures import MultiValueDict
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer, TemplateHTMLRenderer
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .authentication import REALM, CartTokenAuthentication, TokenRejected
from .parsers import JSONParser

# --- Errors -------------------------------------------------------------------------


class BodyTooLarge(exceptions.APIException):
    """413: the body is over DATA_UPLOAD_MAX_MEMORY_SIZE; it was not read."""

    status_code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


def _body_too_large(request) -> BodyTooLarge:
    # Django refused to read the body (request.body raised before DRF's parser ran):
    # leave empty data behind, as DRF does after a parse error, so that nothing
    # (the browsable API, logging) tries to read the body again.
    if request is not None:
        request._data = QueryDict("")
        request._files = MultiValueDict()
        request._full_data = request._data
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return BodyTooLarge(
        f"The request body is over the limit of {limit} bytes and was not read; "
        "a cart or checkout body is a few hundred bytes."
    )


def api_exception_handler(exc, context):
    """DRF's handler, plus a `code` next to every `detail`, RFC 6750 token errors and 413."""
    if isinstance(exc, RequestDataTooBig):
        exc = _body_too_large(context.get("request"))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data and "code" not in data:
        data["code"] = getattr(data["detail"], "code", None) or getattr(
            exc, "default_code", "error"
        )
    if isinstance(exc, TokenRejected) or (
        isinstance(exc, exceptions.AuthenticationFailed)
        and data.get("code") == "bad_authorization_header"
    ):
        response["WWW-Authenticate"] = (
            f'Bearer realm="{REALM}", error="invalid_token", error_description="{data["code"]}"'
        )
    return response


def field_error(field: str, message: str, code: str) -> exceptions.ValidationError:
    """A 400 in DRF's per-field shape, `{field: [message]}`, with a machine-readable code."""
    return exceptions.ValidationError({field: [exceptions.ErrorDetail(message, code)]})


def text_param(request, name: str) -> str:
    """A query parameter as stripped text; 400 if it holds a NUL character.

    A NUL can be no part of a name, description or slug, and PostgreSQL refuses it
    in any string (a 500 before this check), so it is refused, not silently dropped.
    """
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise field_error(name, f"Give `{name}` once.", "repeated_parameter")
    value = values[0] if values else ""
    if "\x00" in value:
        raise field_error(
            name,
            f"`{name}` contains a NUL character (%00), which cannot appear in any product; "
            "remove it.",
            "null_character",
        )
    return value.strip()


# --- Renderers and the base view ----------------------------------------------------

# The value Django's {% csrf_token %} tag treats as "no token here".
NO_CSRF_TOKEN = "NOTPROVIDED"  # noqa: S105


class _NoCsrfTokenContext:
    """Renders templates without asking for a CSRF token, which would set a cookie.

    The API needs no CSRF protection (no session, no cookie authentication);
    the token value in the page is a placeholder that `{% csrf_token %}` omits.
    """

    def get_context(self, *args, **kwargs):
        context = super().get_context(*args, **kwargs)
        context["csrf_token"] = NO_CSRF_TOKEN
        return context


class StatelessBrowsableAPIRenderer(_NoCsrfTokenContext, BrowsableAPIRenderer):
    """DRF's browsable API for reading the API in a browser, without cookies."""


class StatelessTemplateHTMLRenderer(TemplateHTMLRenderer):
    def get_template_context(self, data, renderer_context):
        context = super().get_template_context(data, renderer_context)
        context["csrf_token"] = NO_CSRF_TOKEN
        return context


class JsonFirstNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation, with a script's usual request answered without parsing.

    A request whose Accept header is absent, `*/*` or `application/json`, with no
    format override, gets the view's first renderer when that is JSON: the choice
    DRF's negotiation makes for it, without parsing the header into media types
    and ranking them on every request. Everything else (a browser asking for
    HTML, `?format=api`, parameters, q-values) is negotiated by DRF.
    """

    PLAIN_ACCEPT = frozenset({"*/*", "application/json"})

    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            format_suffix is None
            and renderers
            and renderers[0].media_type == "application/json"
            and request.META.get("HTTP_ACCEPT", "*/*") in self.PLAIN_ACCEPT
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class StatelessMixin:
    """Token authentication only, JSON in, JSON (or the browsable API) out."""

    authentication_classes = [CartTokenAuthentication]
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer, StatelessBrowsableAPIRenderer]
    content_negotiation_class = JsonFirstNegotiation

    def get_exception_handler(self):
        return api_exception_handler


class StatelessAPIView(StatelessMixin, APIView):
    pass
