"""Every view under /api/ answers a token it did not sign with 401 and WWW-Authenticate.

The views are found by walking the URL resolver, so a view added later is covered
without touching this test.
"""

import base64
import json
import secrets
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

# These read no token at all (their authentication_classes are empty), so no token can
# be wrong there: the public catalogue, the schema, its documentation page, and the 404
# of an unknown /api/ path. Every other view is here because it reads the token.
READ_NO_TOKEN = {
    "api:products",
    "api:product",
    "api:schema",
    "api:docs",
    "api:<not_found>",
}
METHODS = ("get", "post", "put", "patch", "delete")


def api_patterns():
    """(name, path, view class or function) of every URL under /api/."""
    found = []

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = pattern.namespace or namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
            elif isinstance(pattern, URLPattern) and prefix.startswith("api/"):
                route = str(pattern.pattern)
                path = (
                    "/" + prefix + route.replace("<int:pk>", "1").replace("<int:product_id>", "1")
                )
                name = f"{namespace}:{pattern.name or '<' + pattern.callback.__name__ + '>'}"
                found.append((name, path, pattern.callback))

    walk(get_resolver().url_patterns, "", None)
    return found


def random_tokens():
    """Tokens of the right shape that nobody signed: random bytes, a JWT with random parts,
    and a well-formed HS256 token signed with a random key."""
    import jwt

    part = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()  # noqa: E731
    header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    return [
        secrets.token_urlsafe(40),
        f"{header}.{part(secrets.token_bytes(30))}.{part(secrets.token_bytes(32))}",
        jwt.encode({"cart": [], "sub": 1}, secrets.token_bytes(32), "HS256"),
    ]


def view_methods(callback) -> list[str]:
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view is None:
        return ["get"]
    return [m for m in METHODS if hasattr(view, m)]


CASES = [
    pytest.param(name, path, method, id=f"{method.upper()} {path}")
    for name, path, callback in api_patterns()
    if name not in READ_NO_TOKEN
    for method in view_methods(callback)
]


def test_the_walk_finds_every_api_view():
    names = {name for name, _path, _callback in api_patterns()}
    assert {"api:cart", "api:cart-items", "api:cart-item", "api:checkout", "api:orders"} <= names
    assert names >= READ_NO_TOKEN
    assert len(CASES) >= 7


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "path", "method"), CASES)
def test_a_random_token_gets_401_with_www_authenticate(name, path, method):
    client = Client()
    for token in random_tokens():
        body = {} if method in ("get", "delete") else {"data": "{}"}
        response = getattr(client, method)(
            path, **body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert response.status_code == HTTPStatus.UNAUTHORIZED, (token, response.content)
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "set-cookie" not in {k.lower() for k in response.headers}


def test_the_views_left_out_really_read_no_token():
    for name, _path, callback in api_patterns():
        view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if name in READ_NO_TOKEN and view is not None:
            assert view.authentication_classes == [], name
