"""Whatever a cart token holds, signed or not, it is refused with an explanation, never a 500.

The tokens below are signed with the server's own key, so that a crafted header or
claim set gets past the signature check and reaches every later step: any JSON
value (any nesting, any Unicode, numbers of any size) under any header parameter
or claim, merged over a valid header and valid claims.
"""

import base64
import hashlib
import hmac
import json
import time
from http import HTTPStatus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import tokens
from compare.inspector import inspect_token

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8")),
    st.sampled_from(["HS256", "none", "JWT", "dev", "shop", "shop:cart", "\x00", "é", "\ud800"]),
)


def deep(depth: int, opener: str, closer: str) -> str:
    return opener * depth + closer * depth


values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
# Nesting deeper than a JSON parser recurses (Hypothesis raises the recursion limit
# to the stack's depth + 2,000 while it runs, so deeper than that too); the size cap is
# raised to let it through. Never near the limit: on Python 3.11 the parser shares the
# limit with the frames below it, so a depth near it parses or not by the caller's
# depth, and the inspector (two frames deeper) and a direct decode would disagree.
deep_values = st.integers(min_value=5_000, max_value=30_000).flatmap(
    lambda n: st.sampled_from([deep(n, "[", "]"), "[" * n + '{"a":{}}' + "]" * n])
)


def to_json(value) -> str:
    """JSON text of `value`, keeping RawJson as written (huge numbers, deep nesting)."""
    if isinstance(value, RawJson):
        return value.text
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(
                f"{json.dumps(k, ensure_ascii=False)}:{to_json(v)}" for k, v in value.items()
            )
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


class RawJson:
    def __init__(self, text: str) -> None:
        self.text = text


raw_values = st.one_of(
    scalars,
    values,
    deep_values.map(RawJson),
    st.sampled_from(["1e400", "-1e400", "1" * 2000, "-0", "1.5e-400", "[]", "{}"]).map(RawJson),
)

HEADER_NAMES = st.sampled_from(["alg", "typ", "kid", "kid", "jku", "crit"]) | st.text(max_size=5)
CLAIM_NAMES = st.sampled_from([*tokens.REQUIRED_CLAIMS, "sub", "nbf"]) | st.text(max_size=5)


def valid_header() -> dict:
    kid, _ = tokens.signing_keys()[0]
    return {"alg": "HS256", "typ": "JWT", "kid": kid}


def valid_claims() -> dict:
    now = int(time.time())
    return {
        "iss": tokens.ISSUER,
        "aud": tokens.AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "orig_iat": now,
        "jti": "property-jti",
        "cid": "property-cart-id",
        "cart": [[1, 1]],
        "v": tokens.VERSION,
    }


def segment(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).rstrip(b"=").decode()


def signed(header_json: str, claims_json: str) -> str:
    signing_input = f"{segment(header_json)}.{segment(claims_json)}"
    _, secret = tokens.signing_keys()[0]
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def one_replaced(valid, names):
    """`valid()` with one of `names` set to any JSON value."""
    return st.tuples(st.sampled_from(names), raw_values).map(lambda kv: {**valid(), kv[0]: kv[1]})


def parts(valid, names, name_strategy):
    return st.one_of(
        one_replaced(valid, names),
        st.dictionaries(name_strategy, raw_values, max_size=4).map(lambda d: {**valid(), **d}),
        st.dictionaries(name_strategy, raw_values, max_size=4),
        raw_values,
    )


header_parts = parts(valid_header, ["alg", "typ", "kid"], HEADER_NAMES)
claim_parts = parts(valid_claims, [*tokens.REQUIRED_CLAIMS, "sub", "nbf"], CLAIM_NAMES)
crafted_tokens = st.one_of(
    st.builds(lambda h: signed(to_json(h), to_json(valid_claims())), header_parts),
    st.builds(lambda c: signed(to_json(valid_header()), to_json(c)), claim_parts),
    st.builds(lambda h, c: signed(to_json(h), to_json(c)), header_parts, claim_parts),
)


@pytest.fixture(autouse=True)
def room_for_deep_nesting(settings):
    settings.CART_TOKEN_MAX_BYTES = 200_000


@HYPOTHESIS
@given(token=crafted_tokens)
def test_decode_cart_refuses_any_crafted_token_with_a_token_error(token):
    try:
        decoded = tokens.decode_cart(token)
    except tokens.TokenError as error:
        assert error.code and error.message
    else:
        assert isinstance(decoded, tokens.CartToken)


@HYPOTHESIS
@given(token=crafted_tokens)
def test_every_crafted_token_gets_401_or_431_with_www_authenticate(api, token):
    response = api.get("/api/cart/", token=token)
    assert response.status_code in (HTTPStatus.OK, HTTPStatus.UNAUTHORIZED, 431)
    if response.status_code != HTTPStatus.OK:
        assert response["WWW-Authenticate"].startswith("Bearer ")
        assert response.json()["code"]


@HYPOTHESIS
@given(token=crafted_tokens)
def test_the_inspector_explains_any_crafted_token_with_the_apis_verdict(token):
    inspection = inspect_token(token)
    try:
        tokens.decode_cart(token)
    except tokens.TokenError as error:
        assert not inspection.valid
        assert inspection.api_code == error.code
    else:
        assert inspection.valid


@HYPOTHESIS
@given(text=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_decode_cart_refuses_any_text_with_a_token_error(text):
    with pytest.raises(tokens.TokenError):
        tokens.decode_cart(text)
    assert not inspect_token(text).valid
