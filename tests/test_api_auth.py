"""Every kind of bad cart token is refused with 401 (431 when oversized) and writes nothing."""

import base64
import json
import time
from http import HTTPStatus

import pytest
from django.contrib.sessions.models import Session

from api import authentication, tokens
from shop.models import Order

# The attacks below sign with deliberately weak keys; PyJWT warns about each.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "address": "1 Analytical St"}
OTHER_SECRET = "z" * 32


def b64(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parts(token: str) -> list[str]:
    return token.split(".")


def unsigned(header: dict, claims: dict, signature: str = "") -> str:
    return f"{b64(header)}.{b64(claims)}.{signature}"


def claims_of(token: str) -> dict:
    return tokens.inspect_unverified(token)[1]


def flip_first_char(segment: str) -> str:
    return ("A" if segment[0] != "A" else "B") + segment[1:]


def attack(name):
    """Register a builder: builder(forge, good_token, kid) -> (token, expected code)."""

    def register(builder):
        ATTACKS[name] = builder
        return builder

    return register


ATTACKS: dict = {}


for alg in ("none", "None", "NONE", "nOnE"):
    ATTACKS[f"alg {alg} without signature"] = lambda forge, good, kid, alg=alg: (
        unsigned({"alg": alg, "typ": "JWT", "kid": kid}, claims_of(good)),
        "bad_algorithm",
    )


@attack("empty signature")
def _(forge, good, kid):
    header, payload, _ = parts(good)
    return f"{header}.{payload}.", "bad_signature"


@attack("flipped signature")
def _(forge, good, kid):
    header, payload, signature = parts(good)
    return f"{header}.{payload}.{flip_first_char(signature)}", "bad_signature"


@attack("truncated signature")
def _(forge, good, kid):
    header, payload, signature = parts(good)
    return f"{header}.{payload}.{signature[:-4]}", "bad_signature"


@attack("payload edited under the old signature")
def _(forge, good, kid):
    header, _, signature = parts(good)
    claims = claims_of(good)
    claims["cart"] = [[line[0], 50] for line in claims["cart"]]
    return f"{header}.{b64(claims)}.{signature}", "bad_signature"


for algorithm in ("HS384", "HS512"):
    ATTACKS[f"re-signed with {algorithm}"] = lambda forge, good, kid, algorithm=algorithm: (
        forge(claims=claims_of(good), algorithm=algorithm),
        "bad_algorithm",
    )


@attack("re-signed with RS256")
def _(forge, good, kid):
    fake_signature = b64(b"\x01" * 256)
    return unsigned({"alg": "RS256", "typ": "JWT", "kid": kid}, claims_of(good), fake_signature), (
        "bad_algorithm"
    )


@attack("signed with a weak key under the real kid")
def _(forge, good, kid):
    return forge(claims=claims_of(good), key="secret"), "bad_signature"


@attack("signed with another strong key under the real kid")
def _(forge, good, kid):
    return forge(claims=claims_of(good), key=OTHER_SECRET), "bad_signature"


@attack("signed with an unknown kid")
def _(forge, good, kid):
    return forge(claims=claims_of(good), key=OTHER_SECRET, header={"kid": "attacker"}), (
        "unknown_key"
    )


@attack("no kid")
def _(forge, good, kid):
    return unsigned({"alg": "HS256", "typ": "JWT"}, claims_of(good), "c2ln"), "unknown_key"


for injected in ("../../../../etc/passwd", "/dev/null", "' OR '1'='1", "dev; DROP TABLE x"):
    ATTACKS[f"kid injection {injected}"] = lambda forge, good, kid, injected=injected: (
        forge(claims=claims_of(good), key=OTHER_SECRET, header={"kid": injected}),
        "unknown_key",
    )

for parameter, value in (
    ("jku", "https://attacker.example/jwks.json"),
    ("jwk", {"kty": "oct", "k": b64(OTHER_SECRET.encode())}),
    ("x5u", "https://attacker.example/cert.pem"),
    ("crit", ["exp-unknown"]),
):
    ATTACKS[f"{parameter} header"] = lambda forge, good, kid, p=parameter, v=value: (
        forge(claims={**claims_of(good)}, header={p: v}),
        "unsupported_header",
    )


@attack("expired")
def _(forge, good, kid):
    now = int(time.time())
    claims = {**claims_of(good), "iat": now - 7200, "orig_iat": now - 7200, "exp": now - 3600}
    return forge(claims=claims), "expired"


@attack("nbf in the future")
def _(forge, good, kid):
    return forge(claims={**claims_of(good), "nbf": int(time.time()) + 3600}), "not_yet_valid"


@attack("iat in the future")
def _(forge, good, kid):
    later = int(time.time()) + 3600
    claims = {**claims_of(good), "iat": later, "orig_iat": later, "exp": later + 3600}
    return forge(claims=claims), "not_yet_valid"


@attack("wrong audience")
def _(forge, good, kid):
    return forge(claims={**claims_of(good), "aud": "someone-else"}), "wrong_audience"


@attack("wrong issuer")
def _(forge, good, kid):
    return forge(claims={**claims_of(good), "iss": "https://attacker.example"}), "wrong_issuer"


@attack("receipt-like JWT signed with the same key for another audience")
def _(forge, good, kid):
    claims = {**claims_of(good), "aud": "shop:receipt", "order": 1}
    return forge(claims=claims), "wrong_audience"


for claim in tokens.REQUIRED_CLAIMS:
    ATTACKS[f"missing {claim}"] = lambda forge, good, kid, claim=claim: (
        forge(claims=claims_of(good), drop=(claim,)),
        "missing_claim",
    )


@attack("two segments")
def _(forge, good, kid):
    return ".".join(parts(good)[:2]), "malformed"


@attack("four segments")
def _(forge, good, kid):
    return good + ".AAAA", "malformed"


@attack("bad base64 characters")
def _(forge, good, kid):
    header, payload, signature = parts(good)
    return f"{header}.{payload[:10]}!*{payload[10:]}.{signature}", "malformed"


@attack("header that is not base64 JSON")
def _(forge, good, kid):
    header, payload, signature = parts(good)
    return f"{header[:-1]}.{payload}.{signature}", "malformed"


@attack("a cart that breaks the cart rules")
def _(forge, good, kid):
    return forge(claims={**claims_of(good), "cart": [[1, 1000]]}), "not_a_cart_token"


@attack("another format version")
def _(forge, good, kid):
    return forge(claims={**claims_of(good), "v": 2}), "unsupported_version"


@attack("sub that is not a user id")
def _(forge, good, kid):
    return forge(claims={**claims_of(good), "sub": "admin"}), "invalid_claim"


@pytest.fixture
def cart_token(api, product):
    """A valid token for a cart holding one product that could be ordered."""
    response = api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 2})
    assert response.status_code == HTTPStatus.OK
    return response.json()["token"]


def assert_nothing_written(product, stock):
    product.refresh_from_db()
    assert product.stock == stock
    assert Order.objects.count() == 0
    assert Session.objects.count() == 0


def test_the_valid_token_used_by_the_attacks_checks_out(api, cart_token):
    response = api.post("/api/checkout/", CUSTOMER, token=cart_token)
    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_bad_token_is_rejected_with_401_and_writes_nothing(api, forge, cart_token, product, name):
    kid = tokens.signing_keys()[0][0]
    bad, code = ATTACKS[name](forge, cart_token, kid)
    stock = product.stock
    for method, path, body in (
        ("GET", "/api/cart/", None),
        ("POST", "/api/cart/items/", {"product_id": product.pk}),
        ("POST", "/api/checkout/", CUSTOMER),
    ):
        response = api.call(method, path, body, token=bad)
        assert response.status_code == HTTPStatus.UNAUTHORIZED, response.content
        body = response.json()
        assert body["code"] == code
        assert "new cart" in body["detail"]
        assert response["WWW-Authenticate"].startswith("Bearer ")
        assert 'error="invalid_token"' in response["WWW-Authenticate"]
        assert "token" not in body
        assert not response.cookies
    assert_nothing_written(product, stock)


def test_100_kb_token_is_refused_before_decoding_with_431(api, cart_token, product, monkeypatch):
    monkeypatch.setattr(authentication, "decode_cart", pytest.fail)
    header, payload, signature = parts(cart_token)
    huge = f"{header}.{payload}{'A' * 100_000}.{signature}"
    response = api.post("/api/checkout/", CUSTOMER, token=huge)
    assert response.status_code == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
    assert response.json()["code"] == "too_large"
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert_nothing_written(product, product.stock)


def test_token_just_over_the_cap_is_refused_by_the_decoder_with_431(api, settings, cart_token):
    settings.CART_TOKEN_MAX_BYTES = len(cart_token) - 1
    response = api.get("/api/cart/", token=cart_token)
    assert response.status_code == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
    assert response.json()["code"] == "too_large"


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", "Bearer a.b.c extra"]
)
def test_authorization_header_that_is_not_a_bearer_token_is_rejected(api, header):
    response = api.client.get("/api/cart/", HTTP_AUTHORIZATION=header)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] in {"bad_authorization_header", "malformed"}
    assert response["WWW-Authenticate"].startswith("Bearer ")


def test_bearer_scheme_is_case_insensitive(api, cart_token):
    response = api.client.get("/api/cart/", HTTP_AUTHORIZATION=f"bearer {cart_token}")
    assert response.status_code == HTTPStatus.OK


def test_no_token_means_a_new_cart_not_an_error(api):
    response = api.get("/api/cart/", token=None)
    assert response.status_code == HTTPStatus.OK
    assert response.json()["cart"]["items"] == []


def test_token_of_a_rotated_key_works_while_listed_and_is_refused_once_removed(
    api, settings, product
):
    settings.CART_TOKEN_KEYS = f"old:{'o' * 32}"
    old_token = api.post("/api/cart/items/", {"product_id": product.pk}).json()["token"]

    settings.CART_TOKEN_KEYS = f"new:{'n' * 32},old:{'o' * 32}"
    response = api.get("/api/cart/", token=old_token)
    assert response.status_code == HTTPStatus.OK
    assert response.json()["cart"]["item_count"] == 1
    assert tokens.inspect_unverified(response.json()["token"])[0]["kid"] == "new"

    settings.CART_TOKEN_KEYS = f"new:{'n' * 32}"
    response = api.get("/api/cart/", token=old_token)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "unknown_key"


def test_token_from_an_instance_whose_clock_is_a_few_seconds_ahead_is_accepted(api, product):
    from shop.cart import Cart

    ahead = int(time.time()) + 5
    token = tokens.encode_cart(cart=Cart().add(product.pk, 2), cid=tokens.new_cid(), now=ahead)
    response = api.get("/api/cart/", token=token)
    assert response.status_code == HTTPStatus.OK
    assert response.json()["cart"]["item_count"] == 2
    response = api.post("/api/checkout/", CUSTOMER, token=token)
    assert response.status_code == HTTPStatus.CREATED


def test_cart_whose_lifetime_ends_while_answering_is_a_401_not_a_500(api, product, monkeypatch):
    token = api.post("/api/cart/items/", {"product_id": product.pk}).json()["token"]

    def lifetime_over(**kwargs):
        raise tokens.LifetimeExceeded("This cart is older than the maximum. " + tokens.START_AGAIN)

    from api import views

    monkeypatch.setattr(views, "encode_cart", lifetime_over)
    response = api.get("/api/cart/", token=token)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "lifetime_exceeded"
    assert response["WWW-Authenticate"].startswith("Bearer ")
