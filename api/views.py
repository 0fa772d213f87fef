"""Views of the JSON API: validate, call the shop's domain functions, shape the answer.

Every view here is stateless: no session authentication (so no CSRF), no
session read or write, no cookie. The cart comes in with the request's token
and goes out in the answer's token.
"""

from __future__ import annotations

import dataclasses
import re
import time
from decimal import Decimal
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db.models import Q
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from shop.account_cart import merge_at_login, save_at_logout
from shop.cart import Cart, CartError
from shop.cart_rules import NotForSale, NotInCart, add_to_cart, remove_from_cart, set_in_cart
from shop.checkout import (
    CartAlreadyOrdered,
    CheckoutError,
    Customer,
    EmptyCart,
    OutOfStock,
    PricesChanged,
    ProductsUnavailable,
    place_order,
)
from shop.limits import TooManyCheckouts
from shop.models import Order, Product
from shop.pricing import PricedCart, fetch_for_pricing, price_cart

from . import revocation
from . import serializers as s
from .authentication import TokenRejected
from .pagination import PagePagination
from .plumbing import StatelessAPIView, StatelessMixin, text_param
from .schema import (
    BAD_BODY,
    BAD_QUERY,
    CART_ANSWER,
    ERR,
    ID_SCHEMA,
    NO_NUL_SCHEMA,
    NOT_JSON,
    TOKEN_431,
    TOKEN_ERRORS,
    TOO_LARGE,
)
from .tokens import CartToken, Login, TokenError, duration, encode_cart, expiry, new_cid

# --- Catalogue ------------------------------------------------------------------------


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


def _current(token: CartToken | None) -> tuple[Cart, str, Login | None, int | None]:
    """The request's cart, its id, login and first issue; a new empty cart without a token."""
    if token is None:
        return Cart(), new_cid(), None, None
    return token.cart, token.cid, token.login, token.orig_iat


def cart_answer(
    *,
    priced: PricedCart,
    cid: str,
    login: Login | None,
    orig_iat: int | None,
    status: int = HTTPStatus.OK,
    notices: list | None = None,
) -> Response:
    """`{"token", "cart"}` with a re-issued token (fresh `exp`) for the priced, cleaned cart.

    `notices` (from the merge at login) come before pricing's own.
    """
    if notices:
        priced = dataclasses.replace(priced, notices=[*notices, *priced.notices])
    now = int(time.time())
    try:
        token = encode_cart(cart=priced.cart, cid=cid, login=login, orig_iat=orig_iat, now=now)
    except TokenError as error:
        # The cart's lifetime ended between reading the token and answering.
        raise TokenRejected(error) from error
    exp = expiry(now=now, orig_iat=now if orig_iat is None else orig_iat)
    return Response({"token": token, "cart": s.cart_body(priced, exp=exp)}, status=status)


def _check_product_id(product_id: int) -> None:
    if not 1 <= product_id <= s.MAX_ID:
        raise exceptions.NotFound(f"No product with id {product_id} is for sale.")


class CartConflict(exceptions.APIException):
    """409: the change conflicts with the cart or the stock as they are now."""

    status_code = HTTPStatus.CONFLICT


def refused(error: CartError) -> exceptions.APIException:
    """The API's answer to a change the shop's cart rules refused.

    A product not for sale, or a line not in the cart, is a 404; everything that
    depends on the cart or the stock as they are now (sold out, not enough stock, the
    cart's limits) is a 409. The body itself was valid: a bad body is a 400 before this.
    """
    if isinstance(error, NotForSale | NotInCart):
        return exceptions.NotFound(error.message, error.code)
    return CartConflict(error.message, error.code)


def change(request, product_id: int, rule, *args, read: bool = True) -> Response:
    """Apply one of the shop's cart rules to the token's cart and answer with the new cart.

    The products are read once, for the rule and for pricing alike; with `read` off the
    rule needs none (removing a line) and pricing reads what is left, if anything.
    """
    cart, cid, login, orig_iat = _current(request.auth)
    products = fetch_for_pricing([*cart.product_ids, product_id]) if read else None
    try:
        cart = rule(cart, product_id, *args, products or {})
    except CartError as error:
        raise refused(error) from error
    priced = price_cart(cart, products=products)
    return cart_answer(priced=priced, cid=cid, login=login, orig_iat=orig_iat)


CART_CONFLICT = OpenApiResponse(
    ERR,
    "Refused by the cart's current state, nothing changed: the product is sold out "
    "(`sold_out`), the stock is lower (`not_enough_stock`), or the cart would hold more "
    f"than {settings.CART_MAX_QUANTITY} of one product or more than "
    f"{settings.CART_MAX_LINES} products (`invalid_quantity`, `too_many_lines`).",
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
        cart, cid, login, orig_iat = _current(request.auth)
        return cart_answer(priced=price_cart(cart), cid=cid, login=login, orig_iat=orig_iat)

    @extend_schema(
        summary="Start a new, empty cart",
        description="Always a new cart with a new cart id. A logged-in token keeps its user.",
        request=None,
        responses={201: CART_ANSWER, **TOKEN_ERRORS},
    )
    def post(self, request):
        login = request.auth.login if request.auth else None
        return cart_answer(
            priced=PricedCart(cart=Cart()),
            cid=new_cid(),
            login=login,
            orig_iat=None,
            status=HTTPStatus.CREATED,
        )


@extend_schema(tags=["cart"])
class CartItemsView(StatelessAPIView):
    @extend_schema(
        summary="Add a product to the cart",
        description="Adds `quantity` (default 1) to the line. Without a token, a new cart "
        f"is started. At most {settings.CART_MAX_LINES} products and "
        f"{settings.CART_MAX_QUANTITY} of each.",
        request=s.AddItemSerializer,
        responses={
            200: CART_ANSWER,
            400: BAD_BODY,
            404: OpenApiResponse(ERR, "No such product for sale (`not_for_sale`)."),
            409: CART_CONFLICT,
            413: TOO_LARGE,
            415: NOT_JSON,
            **TOKEN_ERRORS,
        },
        examples=[OpenApiExample("Two of product 1", {"product_id": 1, "quantity": 2})],
    )
    def post(self, request):
        product_id, quantity = s.parse_add_item(request.data)
        return change(request, product_id, add_to_cart, quantity)


@extend_schema(
    tags=["cart"],
    parameters=[OpenApiParameter("product_id", ID_SCHEMA, OpenApiParameter.PATH)],
)
class CartItemView(StatelessAPIView):
    @extend_schema(
        summary="Set a line's quantity",
        description="Sets the quantity of a line of the cart; 0 removes the line.",
        request=s.SetQuantitySerializer,
        responses={
            200: CART_ANSWER,
            400: BAD_BODY,
            409: CART_CONFLICT,
            413: TOO_LARGE,
            415: NOT_JSON,
            404: OpenApiResponse(
                ERR, "Not a line of this cart (`not_in_cart`), or not for sale (`not_for_sale`)."
            ),
            **TOKEN_ERRORS,
        },
    )
    def put(self, request, product_id: int):
        _check_product_id(product_id)
        quantity = s.parse_set_quantity(request.data)
        return change(request, product_id, set_in_cart, quantity)

    @extend_schema(
        summary="Remove a line",
        description="Removes a line of the cart; a product that is not in it is a 404 "
        "(`not_in_cart`) and changes nothing.",
        request=None,
        responses={
            200: CART_ANSWER,
            404: OpenApiResponse(ERR, "Not a line of this cart (`not_in_cart`)."),
            **TOKEN_ERRORS,
        },
    )
    def delete(self, request, product_id: int):
        _check_product_id(product_id)
        return change(request, product_id, remove_from_cart, read=False)


# --- Checkout --------------------------------------------------------------------------

IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{1,100}")  # fullmatch: no trailing newline


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
    if isinstance(error, PricesChanged):
        body["total"] = str(error.actual)
    if isinstance(error, TooManyCheckouts):
        body["limit"] = error.limit
        headers = {"Retry-After": str(error.retry_after)}
        return Response(body, status=HTTPStatus.TOO_MANY_REQUESTS, headers=headers)
    return Response(body, status=HTTPStatus.CONFLICT)


def _checkout_answer(order: Order, *, login: Login | None, status: int) -> Response:
    order = Order.objects.prefetch_related("lines").get(pk=order.pk)
    fresh = cart_answer(priced=PricedCart(cart=Cart()), cid=new_cid(), login=login, orig_iat=None)
    body = {"order": s.OrderSerializer(order).data, **fresh.data}
    return Response(body, status=status)


def place_token_order(
    token: CartToken,
    *,
    customer: Customer,
    user=None,
    key: str = "",
    expected_total: Decimal | None = None,
    address: str | None = None,
) -> Order:
    """The shop's checkout of the token's cart; the API then records the token's size on
    the order (a figure of the comparison page, not part of the order)."""
    order = place_order(
        cart=token.cart,
        customer=customer,
        channel=Order.Channel.API,
        user=user,
        cart_id=token.cid,
        idempotency_key=key,
        expected_total=expected_total,
        address=address,
    )
    Order.objects.filter(pk=order.pk).update(token_bytes=token.size)
    order.token_bytes = token.size
    return order


@extend_schema(
    tags=["checkout"],
    summary="Order the cart",
    description=(
        "Orders the token's cart at current prices (the client never sends prices). A cart "
        "(its `cid`) can be ordered once: any token of an ordered cart, older ones included, "
        "gets 409 `cart_already_ordered`. With an `Idempotency-Key` header, a retried checkout "
        "of the same cart with the same key answers with the same order instead."
    ),
    request=s.CheckoutSerializer,
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
            "(`shortages`), products are no longer sold (`product_ids`), or the total is not "
            "the `expected_total` sent (`prices_changed`, with the new `total`), or over a limit "
            "of one order (`order_too_large`: units of a product, value without an account).",
        ),
        429: OpenApiResponse(
            ERR,
            "`too_many_checkouts`: this address or account placed its orders for the window "
            "(`limit`); retry after `Retry-After` seconds.",
        ),
        **TOKEN_ERRORS,
    },
)
class CheckoutView(StatelessAPIView):
    def post(self, request):
        token: CartToken | None = request.auth
        key = request.META.get("HTTP_IDEMPOTENCY_KEY")
        # Present but empty is refused too: the schema (and a retry) needs a real key.
        if key is not None and not IDEMPOTENCY_KEY_RE.fullmatch(key):
            raise exceptions.ValidationError(
                {"Idempotency-Key": ["Use 1 to 100 printable ASCII characters, no spaces."]}
            )
        key = key or ""
        serializer = s.CheckoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        expected_total = serializer.validated_data.pop("expected_total", None)
        if token is None or not token.cart:
            return _conflict(EmptyCart())  # a valid body; the cart is what is missing
        user = _token_user(token)
        customer = Customer(**serializer.validated_data)
        try:
            order = place_token_order(
                token,
                customer=customer,
                user=user,
                key=key,
                expected_total=expected_total,
                address=request.META.get("REMOTE_ADDR", ""),
            )
        except CartAlreadyOrdered as error:
            if key and error.order is not None and error.order.idempotency_key == key:
                return _checkout_answer(error.order, login=token.login, status=HTTPStatus.OK)
            return _conflict(error)
        except CheckoutError as error:
            return _conflict(error)
        return _checkout_answer(order, login=token.login, status=HTTPStatus.CREATED)


# --- Identity --------------------------------------------------------------------------


@extend_schema(
    tags=["identity"],
    summary="Log in: the same cart, now carrying the user",
    description=(
        "Checks a username and password and answers with a token for the same cart (same "
        "`cid`, merged with the cart saved with the account at its last logout) carrying "
        "`sub`, the user id, `auth_time` and the login version `uv`. The login lasts "
        "CART_LOGIN_MAX_AGE from now, however often the token is re-issued, and ends at once "
        "with a password change or deactivation."
    ),
    request=s.LoginSerializer,
    responses={
        200: CART_ANSWER,
        400: BAD_BODY,
        413: TOO_LARGE,
        415: NOT_JSON,
        401: OpenApiResponse(ERR, "Wrong username or password, or a refused cart token."),
        429: OpenApiResponse(
            ERR,
            "`login_throttled`: too many failed logins for this account or from this address; "
            "retry after `Retry-After` seconds.",
        ),
        431: TOKEN_431,
    },
)
class LoginView(StatelessAPIView):
    def post(self, request):
        serializer = s.LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The Django request: the login throttle (shop.login_throttle) counts on it.
        user = authenticate(
            request=request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            raise exceptions.AuthenticationFailed(
                "Wrong username or password.", code="invalid_credentials"
            )
        cart, cid, _, orig_iat = _current(request.auth)
        merged = merge_at_login(user_id=user.pk, cart=cart)
        login = Login(sub=user.pk, auth_time=int(time.time()), uv=revocation.login_claim(user))
        return cart_answer(
            priced=price_cart(merged.cart),
            cid=cid,
            login=login,
            orig_iat=orig_iat,
            notices=merged.notices,
        )


LOGOUT_ANSWER = {
    revocation.DENYLIST: "This cart is revoked on the server until {until}: this token and "
    "every copy of it get 401 `revoked` from now on.",
    revocation.USER_VERSION: "Every token logged in to this account, on every device, gets 401 "
    "`login_ended` from now on.",
    revocation.SHORT_TTL: "The server keeps nothing to revoke: forget this token; a copy stops "
    "working at most {ttl} after its last use (at {exp} for this one).",
    revocation.NONE: "The server keeps nothing to revoke: forget this token; a copy keeps "
    "working until it expires at {exp}.",
}


@extend_schema(
    tags=["identity"],
    summary="Log out: end this token as far as CART_TOKEN_REVOCATION allows",
    description=(
        "`denylist`: the token's cart id is refused by every server until its last token "
        "would have expired. `user-version`: every logged-in token of the user is refused "
        "(an anonymous cart cannot be ended this way). `short-ttl` and `none`: nothing on "
        "the server; the answer says until when a copy works. A logged-in cart is kept with "
        "the account for the next login, on either channel."
    ),
    request=None,
    responses={
        200: OpenApiResponse(s.LogoutAnswerSerializer, "What was ended, and until when."),
        401: OpenApiResponse(ERR, "No token, or a refused one: nothing to log out."),
        431: TOKEN_431,
    },
)
class LogoutView(StatelessAPIView):
    def post(self, request):
        token: CartToken | None = request.auth
        if token is None:
            raise exceptions.NotAuthenticated(
                "Send the token to log out as `Authorization: Bearer <token>`.", code="no_token"
            )
        mode = revocation.mode()
        saved = False
        if token.sub is not None:
            save_at_logout(user_id=token.sub, cart=token.cart)
            saved = bool(token.cart)
        ended, until = "nothing", None
        if mode == revocation.DENYLIST:
            until = revocation.revoke_cart(cid=token.cid, orig_iat=token.orig_iat)
            ended = "cart"
        elif mode == revocation.USER_VERSION and token.sub is not None:
            revocation.end_logins(token.sub)
            ended = "login"
        explain = LOGOUT_ANSWER[mode]
        if mode == revocation.USER_VERSION and token.sub is None:
            explain = (
                "This cart carries no login, so `user-version` cannot end it: "
                + LOGOUT_ANSWER[revocation.NONE]
            )
        detail = explain.format(
            until=s.timestamp(until) if until else "",
            exp=s.timestamp(token.exp),
            ttl=duration(settings.CART_TOKEN_TTL),
        )
        if saved:
            detail += " Your cart is kept with your account for your next login."
        return Response(
            {
                "detail": detail,
                "mode": mode,
                "ended": ended,
                "until": s.timestamp(until) if until else s.timestamp(token.exp),
                "cart_saved_to_account": saved,
            }
        )


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
