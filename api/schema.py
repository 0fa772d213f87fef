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
re-issued token (new `exp`, same cart id `cid`); keep the latest one. On this
page that is done for you: after each answer that carries a token, "Authorize" holds
it, so the next "Try it out" sends the latest cart. Logging in
(`POST /api/auth/token/`) needs an account: sign up in the web shop first
(`/accounts/signup/`).

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

**Logging out** (`POST /api/auth/logout/`) ends what this server's revocation mode
(`{mode}`) allows: `denylist` refuses every token of the cart (401 `revoked`),
`user-version` every logged-in token of the user (401 `login_ended`); with `none`
and `short-ttl` the server keeps nothing, and a copied token works until its `exp`.
Whatever the mode, a logged-in token is checked against the account on every
request: a password change or deactivation ends it (401 `login_ended`), and the
login ends {login_max_age} after the password check (401 `login_expired`).
"""


def api_description() -> str:
    """The schema's description, with the token lifetimes the settings configure."""
    return API_DESCRIPTION_TEMPLATE.format(
        ttl=duration(settings.CART_TOKEN_TTL),
        max_age=duration(settings.CART_TOKEN_MAX_AGE),
        leeway=duration(settings.CART_TOKEN_LEEWAY),
        mode=settings.CART_TOKEN_REVOCATION,
        login_max_age=duration(settings.CART_LOGIN_MAX_AGE),
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
    # No CSRF header (the API reads no cookie); each answer's token becomes the authorization.
    template_name_js = "api/swagger_ui.js"

    def options(self, request, *args, **kwargs):
        # DRF's OPTIONS answer is metadata for a JSON renderer; this view renders only
        # a template, which that answer does not name (a 500). The Allow header says it all.
        return HttpResponse(status=HTTPStatus.OK)


# Example values Swagger UI shows and sends, by property name (and by schema where a name
# means different things). Without them it invents values from each field's pattern:
# a total of "-49786", a name of control characters.
# A made-up example of the shape of a cart token, signed by nobody: not a secret.
TOKEN_EXAMPLE = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImRldiJ9.eyJjYXJ0IjpbWzMsMl1dfQ.c2lnbmF0dXJl"  # noqa: S105
EXAMPLES = {
    "product_id": 3,
    "quantity": 2,
    "name": "Espresso Blend 1 kg",
    "slug": "espresso-blend-1-kg",
    "description": "Dark roast blend for espresso machines.",
    "category": "Coffee & Tea",
    "price": "24.00",
    "unit_price": "24.00",
    "line_total": "48.00",
    "total": "48.00",
    "expected_total": "48.00",
    "stock": 20,
    "available": True,
    "item_count": 2,
    "expires_at": "2026-12-10T09:30:00Z",
    "created_at": "2026-12-03T09:30:00Z",
    "token": TOKEN_EXAMPLE,
    "email": "ada@example.com",
    "address": "12 St James Square, London",
    "customer_name": "Ada Lovelace",
    "customer_email": "ada@example.com",
    "customer_address": "12 St James Square, London",
    "username": "your-username",
    "password": "your password",
    "requested": 3,
    "count": 1,
    "next": None,
    "previous": None,
    "message": "Only 1 of “Espresso Blend 1 kg” in stock: the quantity was lowered to 1.",
    "detail": "Not enough stock: “Espresso Blend 1 kg”: 3 wanted, 1 left.",
}
EXAMPLES_BY_SCHEMA = {
    ("Checkout", "name"): "Ada Lovelace",
    ("Order", "id"): 12,
    ("Product", "id"): 3,
    ("Shortage", "available"): 1,
    ("Error", "detail"): "The token's signature does not match any key.",
    ("Error", "code"): "bad_signature",
}


def add_examples(result, generator, request, public):
    """drf-spectacular postprocessing hook: sensible examples on every schema property."""
    for schema_name, schema in result.get("components", {}).get("schemas", {}).items():
        for prop_name, prop in schema.get("properties", {}).items():
            if "example" in prop or "$ref" in prop or "allOf" in prop:
                continue
            key = (schema_name, prop_name)
            if key in EXAMPLES_BY_SCHEMA:
                prop["example"] = EXAMPLES_BY_SCHEMA[key]
            elif prop_name in EXAMPLES:
                prop["example"] = EXAMPLES[prop_name]
    return result


# gunicorn's limit on the request line (method, path and query string), refused with
# 414 before Django sees the request: part of what any operation can answer.
REQUEST_LINE_LIMIT = 4094


def document_request_line_limit(result, generator, request, public):
    """drf-spectacular hook: every operation may answer 414 for an over-long request line."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault(
                    "414",
                    {
                        "description": "The request line (path and query string) is over "
                        f"the server's limit of {REQUEST_LINE_LIMIT} bytes; it was not read."
                    },
                )
    return result
