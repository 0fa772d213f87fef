"""OpenAPI description of the cart token security scheme (drf-spectacular)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
