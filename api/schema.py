"""The OpenAPI description of the API: shared responses, the token scheme, the schema views.

Limits in the schema come from the settings (CART_MAX_QUANTITY, CART_MAX_LINES, the
token lifetimes), so the documentation says what the server enforces.
"""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from . import serializers as s
from .plumbing import StatelessTemplateHTMLRenderer
from .tokens import duration

ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": s.MAX_ID}
ERR = s.ErrorSerializer
TOKEN_401 = OpenApiResponse(
    ERR,
    description="The cart token is malformed, tampered, expired, of another audience or "
    "issuer, signed with an unknown key or algorithm, or lacks a claim. `code` says which; "
    "start a new cart. Sent with `WWW-Authenticate: Bearer`.",
)
TOKEN_431 = OpenApiResponse(
    ERR, description="The Authorization header is over the token size cap; it was not read."
)
BAD_BODY = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Invalid body: field errors as `{field: [messages]}`, or "
    "`{detail, code}` for a body that is not JSON.",
)
NOT_JSON = OpenApiResponse(ERR, "The body is not JSON (send Content-Type: application/json).")
TOO_LARGE = OpenApiResponse(
    ERR, "The body is over the upload limit (`body_too_large`); it was not read."
)
TOKEN_ERRORS = {401: TOKEN_401, 431: TOKEN_431}


NO_NUL_SCHEMA = {"type": "string", "pattern": r"^[^\u0000]*$"}
BAD_QUERY = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="A query parameter is invalid (`page` not a whole number from 1, "
    "or a NUL character in `search` or `category`): `{parameter: [messages]}`.",
)


CART_ANSWER = OpenApiResponse(
    s.CartAnswerSerializer,
    description="The cart with live prices and a re-issued token. Replace the stored token "
    "with this one.",
)


class CartTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.CartTokenAuthentication"
    name = "cartToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "The cart token from the last answer, as `Authorization: Bearer <token>`. "
                "Optional on the cart endpoints (none means a new cart); a token that is "
                "sent must be valid, or the answer is 401 (431 when oversized)."
            ),
        }


API_DESCRIPTION_TEMPLATE = """
The shop's stateless channel. The server keeps nothing about a visitor between
requests: the cart travels in a signed token (a JWT, HS256) that the client stores
and sends back as `Authorization: Bearer <token>`. Every cart answer carries a
re-issued token (new `exp`, same cart id `cid`); keep the latest one.

* No token: the cart endpoints start a new, empty cart.
* A token that is malformed, altered, expired, of another audience or issuer, signed
  with an unknown key or algorithm, or missing a claim: **401** with
  `WWW-Authenticate: Bearer` and a `code` saying why; start a new cart. An oversized
  token: **431**, refused before it is read.
* Tokens expire {ttl} after the last answer that issued them, and a cart lives at
  most {max_age} from its first token. Clocks of several servers may differ by up
  to {leeway}.
* Prices are never taken from the client: each answer prices the cart live, and
  checkout re-reads every price under a lock.

**Logging out** is the client forgetting its token. The server keeps no session, so
it has nothing to delete: a token that was copied (stolen) stays valid until its
`exp`. That is the price of statelessness: revoking single tokens would need a
server-side list of revoked token ids checked on every request, which is state
again. The limits are a short sliding expiry, the absolute lifetime, a cart id
that can be ordered only once, and rotating the signing keys (`CART_TOKEN_KEYS`),
which ends every token signed with a removed key at once.
"""


def api_description() -> str:
    """The schema's description, with the token lifetimes the settings configure."""
    return API_DESCRIPTION_TEMPLATE.format(
        ttl=duration(settings.CART_TOKEN_TTL),
        max_age=duration(settings.CART_TOKEN_MAX_AGE),
        leeway=duration(settings.CART_TOKEN_LEEWAY),
    ).strip()


class SchemaView(SpectacularAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @property
    def custom_settings(self):  # read on each request: the settings may change
        return {"DESCRIPTION": api_description()}


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script at ?script, so the CSP needs no inline script."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [StatelessTemplateHTMLRenderer]
    url_name = "api:schema"

    def options(self, request, *args, **kwargs):
        # DRF's OPTIONS answer is metadata for a JSON renderer; this view renders only
        # a template, which that answer does not name (a 500). The Allow header says it all.
        return HttpResponse(status=HTTPStatus.OK)
