"""Views of the JSON API: validate, call the shop's domain functions, shape the answer.

Every view here is stateless: no session authentication (so no CSRF), no
session read or write, no cookie. The cart comes in with the request's token
and goes out in the answer's token.
"""

from __future__ import annotations

import re
import time
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import RequestDataTooBig
from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.http.request import QueryDict
from django.urls import Resolver404, resolve
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, generics
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer, TemplateHTMLRenderer
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from shop.cart import Cart, CartError, QuantityOutOfRange
from shop.checkout import (
    CartAlreadyOrdered,
    CheckoutError,
    Customer,
    EmptyCart,
    OutOfStock,
    ProductsUnavailable,
    place_order,
)
from shop.models import Order, Product
from shop.pricing import PricedCart, price_cart

from . import serializers as s
from .authentication import REALM, CartTokenAuthentication, TokenRejected
from .pagination import PagePagination
from .parsers import JSONParser
from .tokens import CartToken, TokenError, duration, encode_cart, expiry, new_cid

# --- Plumbing shared by every API view --------------------------------------------


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


# The value Django's {% csrf_token %} tag treats as "no token here".
NO_CSRF_TOKEN = "NOTPROVIDED"  # noqa: S105
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": s.MAX_ID}


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


class StatelessMixin:
    """Token authentication only, JSON in, JSON (or the browsable API) out."""

    authentication_classes = [CartTokenAuthentication]
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer, StatelessBrowsableAPIRenderer]

    def get_exception_handler(self):
        return api_exception_handler


class StatelessAPIView(StatelessMixin, APIView):
    pass


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


# --- Catalogue ------------------------------------------------------------------------


def field_error(field: str, message: str, code: str) -> exceptions.ValidationError:
    """A 400 in DRF's per-field shape, `{field: [message]}`, with a machine-readable code."""
    return exceptions.ValidationError({field: [exceptions.ErrorDetail(message, code)]})


def text_param(request, name: str) -> str:
    """A query parameter as stripped text; 400 if it holds a NUL character.

    A NUL can be no part of a name, description or slug, and PostgreSQL refuses it
    in any string (a 500 before this check), so it is refused, not silently dropped.
    """
    value = request.query_params.get(name, "")
    if "\x00" in value:
        raise field_error(
            name,
            f"`{name}` contains a NUL character (%00), which cannot appear in any product; "
            "remove it.",
            "null_character",
        )
    return value.strip()


NO_NUL_SCHEMA = {"type": "string", "pattern": r"^[^\u0000]*$"}
BAD_QUERY = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="A query parameter is invalid (`page` not a whole number from 1, "
    "or a NUL character in `search` or `category`): `{parameter: [messages]}`.",
)


@extend_schema(
    tags=["catalogue"],
    summary="List the products for sale",
    parameters=[
        OpenApiParameter(
            "search",
            NO_NUL_SCHEMA,
            description="Words in the name or description (no NUL character).",
        ),
        OpenApiParameter(
            "category", NO_NUL_SCHEMA, description="A category slug (no NUL character)."
        ),
    ],
    responses={
        200: s.ProductSerializer(many=True),
        400: BAD_QUERY,
        404: OpenApiResponse(ERR, "No such page."),
    },
)
class ProductListView(StatelessMixin, generics.ListAPIView):
    authentication_classes: list = []
    serializer_class = s.ProductSerializer
    pagination_class = PagePagination

    def get_queryset(self):
        products = Product.objects.active().select_related("category")
        search = text_param(self.request, "search")
        if search:
            products = products.filter(Q(name__icontains=search) | Q(description__icontains=search))
        category = text_param(self.request, "category")
        if category:
            products = products.filter(category__slug=category)
        return products


@extend_schema(
    tags=["catalogue"],
    summary="One product",
    parameters=[OpenApiParameter("id", ID_SCHEMA, OpenApiParameter.PATH)],
    responses={200: s.ProductSerializer, 404: OpenApiResponse(ERR, "No such product for sale.")},
)
class ProductDetailView(StatelessMixin, generics.RetrieveAPIView):
    authentication_classes: list = []
    serializer_class = s.ProductSerializer
    queryset = Product.objects.active().select_related("category")
    lookup_value_converter = "int"

    def get_object(self):
        if not 1 <= self.kwargs["pk"] <= s.MAX_ID:
            raise exceptions.NotFound("No such product.")
        return super().get_object()


# --- The cart -----------------------------------------------------------------------


def _current(token: CartToken | None) -> tuple[Cart, str, int | None, int | None]:
    """The request's cart, its id, user and first issue; a new empty cart without a token."""
    if token is None:
        return Cart(), new_cid(), None, None
    return token.cart, token.cid, token.sub, token.orig_iat


def cart_answer(
    *,
    priced: PricedCart,
    cid: str,
    sub: int | None,
    orig_iat: int | None,
    status: int = HTTPStatus.OK,
) -> Response:
    """`{"token", "cart"}` with a re-issued token (fresh `exp`) for the priced, cleaned cart."""
    now = int(time.time())
    try:
        token = encode_cart(cart=priced.cart, cid=cid, sub=sub, orig_iat=orig_iat, now=now)
    except TokenError as error:
        # The cart's lifetime ended between reading the token and answering.
        raise TokenRejected(error) from error
    exp = expiry(now=now, orig_iat=now if orig_iat is None else orig_iat)
    return Response({"token": token, "cart": s.cart_body(priced, exp=exp)}, status=status)


def _check_product_id(product_id: int) -> None:
    if not 1 <= product_id <= s.MAX_ID:
        raise exceptions.NotFound(f"No product with id {product_id} is for sale.")


def _require_sold(priced: PricedCart, product_id: int, *, as_field: bool) -> None:
    """Refuse a change that names a product that is not for sale (or sold out)."""
    if any(line.product_id == product_id for line in priced.lines):
        return
    sold_out = any(n.product_id == product_id and n.code == "sold_out" for n in priced.notices)
    if sold_out:
        message, code = f"Product {product_id} is sold out.", "sold_out"
    else:
        message, code = f"No product with id {product_id} is for sale.", "not_for_sale"
    if as_field:
        raise field_error("product_id", message, code)
    raise exceptions.NotFound(message, code)


CART_ANSWER = OpenApiResponse(
    s.CartAnswerSerializer,
    description="The cart with live prices and a re-issued token. Replace the stored token "
    "with this one.",
)


@extend_schema(tags=["cart"])
class CartView(StatelessAPIView):
    @extend_schema(
        summary="Show the cart",
        description="Without a token: a new empty cart. Prices are read live in one query; "
        "lines whose product is gone or short are dropped or reduced, with `notices`.",
        responses={200: CART_ANSWER, **TOKEN_ERRORS},
    )
    def get(self, request):
        cart, cid, sub, orig_iat = _current(request.auth)
        return cart_answer(priced=price_cart(cart), cid=cid, sub=sub, orig_iat=orig_iat)

    @extend_schema(
        summary="Start a new, empty cart",
        description="Always a new cart with a new cart id. A logged-in token keeps its user.",
        request=None,
        responses={201: CART_ANSWER, **TOKEN_ERRORS},
    )
    def post(self, request):
        sub = request.auth.sub if request.auth else None
        return cart_answer(
            priced=PricedCart(cart=Cart()),
            cid=new_cid(),
            sub=sub,
            orig_iat=None,
            status=HTTPStatus.CREATED,
        )


@extend_schema(tags=["cart"])
class CartItemsView(StatelessAPIView):
    @extend_schema(
        summary="Add a product to the cart",
        description="Adds `quantity` (default 1) to the line. Without a token, a new cart "
        "is started. At most 50 products and 99 of each.",
        request=s.AddItemSerializer,
        responses={200: CART_ANSWER, 400: BAD_BODY, 413: TOO_LARGE, 415: NOT_JSON, **TOKEN_ERRORS},
        examples=[OpenApiExample("Two of product 1", {"product_id": 1, "quantity": 2})],
    )
    def post(self, request):
        product_id, quantity = s.parse_add_item(request.data)
        cart, cid, sub, orig_iat = _current(request.auth)
        try:
            cart = cart.add(product_id, quantity)
        except QuantityOutOfRange as error:
            raise field_error("quantity", error.message, error.code) from error
        except CartError as error:
            raise field_error("product_id", error.message, error.code) from error
        priced = price_cart(cart)
        _require_sold(priced, product_id, as_field=True)
        return cart_answer(priced=priced, cid=cid, sub=sub, orig_iat=orig_iat)


@extend_schema(
    tags=["cart"],
    parameters=[OpenApiParameter("product_id", ID_SCHEMA, OpenApiParameter.PATH)],
)
class CartItemView(StatelessAPIView):
    @extend_schema(
        summary="Set a line's quantity",
        description="Sets the quantity of one product; 0 removes the line.",
        request=s.SetQuantitySerializer,
        responses={
            200: CART_ANSWER,
            400: BAD_BODY,
            413: TOO_LARGE,
            415: NOT_JSON,
            404: OpenApiResponse(ERR, "No such product for sale."),
            **TOKEN_ERRORS,
        },
    )
    def put(self, request, product_id: int):
        _check_product_id(product_id)
        quantity = s.parse_set_quantity(request.data)
        cart, cid, sub, orig_iat = _current(request.auth)
        try:
            cart = cart.set(product_id, quantity)
        except CartError as error:
            raise field_error("quantity", error.message, error.code) from error
        priced = price_cart(cart)
        if quantity:
            _require_sold(priced, product_id, as_field=False)
        return cart_answer(priced=priced, cid=cid, sub=sub, orig_iat=orig_iat)

    @extend_schema(
        summary="Remove a line",
        description="Removing a product that is not in the cart changes nothing.",
        request=None,
        responses={
            200: CART_ANSWER,
            404: OpenApiResponse(ERR, "Not a product id."),
            **TOKEN_ERRORS,
        },
    )
    def delete(self, request, product_id: int):
        _check_product_id(product_id)
        cart, cid, sub, orig_iat = _current(request.auth)
        priced = price_cart(cart.remove(product_id))
        return cart_answer(priced=priced, cid=cid, sub=sub, orig_iat=orig_iat)


# --- Checkout --------------------------------------------------------------------------

IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,100}$")


def _token_user(token: CartToken | None):
    """The active user named by the token's `sub`, or None for an anonymous cart."""
    if token is None or token.sub is None:
        return None
    user = get_user_model().objects.filter(pk=token.sub, is_active=True).first()
    if user is None:
        raise exceptions.AuthenticationFailed(
            "The account this token belongs to no longer exists or is disabled; "
            "log in again or start a new cart.",
            code="unknown_user",
        )
    return user


def _conflict(error: CheckoutError) -> Response:
    body: dict = {"detail": error.message, "code": error.code}
    if isinstance(error, OutOfStock):
        body["shortages"] = [
            {
                "product_id": x.product_id,
                "name": x.name,
                "requested": x.requested,
                "available": x.available,
            }
            for x in error.shortages
        ]
    if isinstance(error, ProductsUnavailable):
        body["product_ids"] = error.product_ids
    return Response(body, status=HTTPStatus.CONFLICT)


def _checkout_answer(order: Order, *, sub: int | None, status: int) -> Response:
    order = Order.objects.prefetch_related("lines").get(pk=order.pk)
    fresh = cart_answer(priced=PricedCart(cart=Cart()), cid=new_cid(), sub=sub, orig_iat=None)
    body = {"order": s.OrderSerializer(order).data, **fresh.data}
    return Response(body, status=status)


@extend_schema(
    tags=["checkout"],
    summary="Order the cart",
    description=(
        "Orders the token's cart at current prices (the client never sends prices). A cart "
        "(its `cid`) can be ordered once: any token of an ordered cart, older ones included, "
        "gets 409 `cart_already_ordered`. With an `Idempotency-Key` header, a retried checkout "
        "of the same cart with the same key answers with the same order instead."
    ),
    request=s.CustomerSerializer,
    parameters=[
        OpenApiParameter(
            "Idempotency-Key",
            str,
            OpenApiParameter.HEADER,
            description="Any 1 to 100 printable ASCII characters; repeat it when retrying.",
            pattern=r"^[!-~]{1,100}$",
        )
    ],
    responses={
        201: OpenApiResponse(s.CheckoutAnswerSerializer, "The order, and a fresh empty cart."),
        200: OpenApiResponse(
            s.CheckoutAnswerSerializer, "A retry with the same Idempotency-Key: the same order."
        ),
        400: BAD_BODY,
        413: TOO_LARGE,
        415: NOT_JSON,
        409: OpenApiResponse(
            s.CheckoutConflictSerializer,
            "Not ordered, nothing written: the cart was already ordered, stock is short "
            "(`shortages`), or products are no longer sold (`product_ids`).",
        ),
        **TOKEN_ERRORS,
    },
)
class CheckoutView(StatelessAPIView):
    def post(self, request):
        token: CartToken | None = request.auth
        key = request.META.get("HTTP_IDEMPOTENCY_KEY")
        # Present but empty is refused too: the schema (and a retry) needs a real key.
        if key is not None and not IDEMPOTENCY_KEY_RE.match(key):
            raise exceptions.ValidationError(
                {"Idempotency-Key": ["Use 1 to 100 printable ASCII characters, no spaces."]}
            )
        key = key or ""
        serializer = s.CustomerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if token is None or not token.cart:
            error = EmptyCart()
            return Response(
                {"detail": error.message, "code": error.code}, status=HTTPStatus.BAD_REQUEST
            )
        user = _token_user(token)
        customer = Customer(**serializer.validated_data)
        try:
            order = place_order(
                cart=token.cart,
                customer=customer,
                channel=Order.Channel.API,
                user=user,
                cart_id=token.cid,
                idempotency_key=key,
                token_bytes=token.size,
            )
        except CartAlreadyOrdered as error:
            if key and error.order is not None and error.order.idempotency_key == key:
                return _checkout_answer(error.order, sub=token.sub, status=HTTPStatus.OK)
            return _conflict(error)
        except CheckoutError as error:
            return _conflict(error)
        return _checkout_answer(order, sub=token.sub, status=HTTPStatus.CREATED)


# --- Identity --------------------------------------------------------------------------


class LoginRateThrottle(SimpleRateThrottle):
    """Login attempts per client address (the `login` rate), counted in the cache.

    The address is the connection's REMOTE_ADDR, never X-Forwarded-For, which any
    client can set to a new value on each try. Behind a proxy every client shares
    the proxy's address, so the limit becomes stricter, never looser.
    """

    scope = "login"

    def get_cache_key(self, request, view):
        ident = request.META.get("REMOTE_ADDR") or "unknown"
        return self.cache_format % {"scope": self.scope, "ident": ident}


@extend_schema(
    tags=["identity"],
    summary="Log in: the same cart, now carrying the user",
    description=(
        "Checks a username and password and answers with a token for the same cart (same "
        "`cid`) carrying `sub`, the user id. Logging out is the client forgetting the token: "
        "the server keeps nothing to delete, so a copied token stays valid until its `exp`."
    ),
    request=s.LoginSerializer,
    responses={
        200: CART_ANSWER,
        400: BAD_BODY,
        413: TOO_LARGE,
        415: NOT_JSON,
        401: OpenApiResponse(ERR, "Wrong username or password, or a refused cart token."),
        429: OpenApiResponse(ERR, "Too many login attempts; wait and retry."),
        431: TOKEN_431,
    },
)
class LoginView(StatelessAPIView):
    throttle_classes = [LoginRateThrottle]

    def post(self, request):
        serializer = s.LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request=None,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            raise exceptions.AuthenticationFailed(
                "Wrong username or password.", code="invalid_credentials"
            )
        cart, cid, _, orig_iat = _current(request.auth)
        return cart_answer(priced=price_cart(cart), cid=cid, sub=user.pk, orig_iat=orig_iat)


class HasUserToken(BasePermission):
    message = "Log in first: POST /api/auth/token/ gives a token that carries your user."
    code = "not_logged_in"

    def has_permission(self, request, view):
        return request.auth is not None and request.auth.sub is not None


@extend_schema(
    tags=["identity"],
    summary="The orders of the token's user",
    responses={
        200: s.OrderSerializer(many=True),
        400: BAD_QUERY,
        401: OpenApiResponse(ERR, "No token, a token without a user, or a refused token."),
        404: OpenApiResponse(ERR, "No such page."),
        431: TOKEN_431,
    },
)
class OrderListView(StatelessMixin, generics.ListAPIView):
    permission_classes = [HasUserToken]
    serializer_class = s.OrderSerializer
    pagination_class = PagePagination

    def permission_denied(self, request, message=None, code=None):
        # Always 401 with WWW-Authenticate: a token with a user is what is missing.
        raise exceptions.NotAuthenticated(detail=message, code=code)

    def get_queryset(self):
        return (
            Order.objects.filter(user_id=self.request.auth.sub, user__is_active=True)
            .prefetch_related("lines")
            .order_by("-created_at", "-id")
        )


# --- Everything else under /api/ ---------------------------------------------------------


@csrf_exempt
def not_found(request, path: str = ""):
    """JSON 404 for any other address under /api/ (instead of the web shop's HTML page)."""
    detail = "There is no API endpoint at this address; the endpoints are listed at /api/docs/."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            detail = f"Did you mean {request.path}/ (with a trailing slash)?"
    return JsonResponse({"detail": detail, "code": "not_found"}, status=HTTPStatus.NOT_FOUND)


# --- Documentation -----------------------------------------------------------------------


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
