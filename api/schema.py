"""OpenAPI description of the cart token security scheme (drf-spectacular)."""
