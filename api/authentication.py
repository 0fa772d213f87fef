"""DRF authentication from `Authorization: Bearer <cart token>`, without sessions.

No Authorization header means "no cart yet": `request.auth` is None and the
view starts a new cart where it allows that. A header that is present but not
a valid cart token is refused (401, or 431 when oversized), always with
`WWW-Authenticate: Bearer`, never answered with a silent new cart.
`request.user` stays None: the user id is `request.auth.sub`. A token that
carries a login costs one query here (api.revocation: the account's password,
active flag and login version), and in `denylist` mode every token costs one
lookup in the denylist.
"""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from . import revocation
from .tokens import START_AGAIN, CartToken, TokenError, TokenTooLarge, decode_cart

REALM = "api"


class TokenRejected(exceptions.AuthenticationFailed):
    """401 for a cart token that was refused; `code` says why."""

    def __init__(self, error: TokenError) -> None:
        super().__init__(detail=error.message, code=error.code)
        self.token_error = error


class TokenHeaderTooLarge(exceptions.APIException):
    """431: the Authorization header is over the size cap, refused before decoding."""

    status_code = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
    default_code = TokenTooLarge.code
    default_detail = "The cart token is too large."
    auth_header = f'Bearer realm="{REALM}", error="invalid_token", error_description="too_large"'


class CartTokenAuthentication(BaseAuthentication):
    """Reads the cart token; the result is `(None, CartToken)` or None without a header."""

    def authenticate(self, request: Request) -> tuple[None, CartToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None
        # "Bearer " and a little whitespace on top of the token's own cap.
        if len(header) > settings.CART_TOKEN_MAX_BYTES + 16:
            raise TokenHeaderTooLarge(
                detail=(
                    f"The Authorization header is {len(header)} bytes; cart tokens are at most "
                    f"{settings.CART_TOKEN_MAX_BYTES} bytes, so it was refused without being "
                    "read. " + START_AGAIN
                )
            )
        scheme, _, credentials = header.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() != "bearer" or not credentials or " " in credentials:
            raise exceptions.AuthenticationFailed(
                detail=("The Authorization header must be 'Bearer <cart token>'. " + START_AGAIN),
                code="bad_authorization_header",
            )
        try:
            token = decode_cart(credentials)
            revocation.check(token)
            return None, token
        except TokenTooLarge as error:
            raise TokenHeaderTooLarge(detail=error.message) from error
        except TokenError as error:
            raise TokenRejected(error) from error

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{REALM}"'
