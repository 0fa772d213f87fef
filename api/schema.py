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
    ("Customer", "name"): "Ada Lovelace",
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
