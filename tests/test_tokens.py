"""The cart token: round trips, expiry, keys and their configuration, sizes, properties."""

import base64
import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from api import tokens
from api.tokens import (
    CartToken,
    TokenError,
    decode_cart,
    encode_cart,
    inspect_unverified,
    new_cart_token,
    new_cid,
    signing_keys,
)
from shop.cart import Cart

ROOT = Path(__file__).resolve().parent.parent
KEY_A = "a" * 32
KEY_B = "b" * 40
NOW = 1_800_000_000
DAY = 86400


def test_round_trip_keeps_cart_cid_and_user():
    cart = Cart([(3, 2), (7, 1)])
    token = encode_cart(cart=cart, cid="cart-id-0001", sub=42)
    decoded = decode_cart(token)
    assert isinstance(decoded, CartToken)
    assert decoded.cart == cart
    assert decoded.cid == "cart-id-0001"
    assert decoded.sub == 42
    assert decoded.version == tokens.VERSION
    assert decoded.size == len(token.encode())
    assert decoded.kid == signing_keys()[0][0]


def test_anonymous_token_has_no_sub_claim():
    header, claims = inspect_unverified(new_cart_token())
    assert "sub" not in claims
    assert header == {"alg": "HS256", "typ": "JWT", "kid": signing_keys()[0][0]}
    assert set(claims) == set(tokens.REQUIRED_CLAIMS)
    assert decode_cart(new_cart_token()).cart == Cart()


def test_each_token_has_a_unique_jti_and_each_new_cart_a_unique_cid():
    first, second = (decode_cart(new_cart_token()) for _ in range(2))
    assert first.jti != second.jti
    assert first.cid != second.cid
    assert new_cid() != new_cid()


def test_reissue_slides_expiry_but_keeps_orig_iat(settings):
    settings.CART_TOKEN_TTL = 7 * DAY
    first = decode_cart(encode_cart(cart=Cart(), cid="cart-id-0001", now=NOW), now=NOW)
    later = NOW + 3 * DAY
    second = decode_cart(
        encode_cart(cart=Cart(), cid=first.cid, orig_iat=first.orig_iat, now=later), now=later
    )
    assert second.exp == later + 7 * DAY > first.exp
    assert second.orig_iat == first.orig_iat == NOW


def test_expiry_never_passes_the_absolute_lifetime(settings):
    settings.CART_TOKEN_TTL = 7 * DAY
    settings.CART_TOKEN_MAX_AGE = 30 * DAY
    late = NOW + 28 * DAY
    token = decode_cart(
        encode_cart(cart=Cart(), cid="cart-id-0001", orig_iat=NOW, now=late), now=late
    )
    assert token.exp == NOW + 30 * DAY


def test_no_token_is_issued_past_the_absolute_lifetime(settings):
    settings.CART_TOKEN_MAX_AGE = 30 * DAY
    with pytest.raises(tokens.LifetimeExceeded):
        encode_cart(cart=Cart(), cid="cart-id-0001", orig_iat=NOW, now=NOW + 30 * DAY)


def test_expired_token_is_refused_with_when_and_what_to_do():
    token = encode_cart(cart=Cart(), cid="cart-id-0001", now=NOW)
    with pytest.raises(tokens.Expired) as error:
        decode_cart(token, now=NOW + 8 * DAY)
    assert error.value.code == "expired"
    assert "expired at" in error.value.message
    assert "new cart" in error.value.message


def test_token_older_than_a_shortened_lifetime_is_refused(settings):
    token = encode_cart(cart=Cart(), cid="cart-id-0001", now=NOW)
    settings.CART_TOKEN_MAX_AGE = DAY
    with pytest.raises(tokens.LifetimeExceeded):
        decode_cart(token, now=NOW + DAY + 1)


# --- Clock skew between instances ---------------------------------------------------


def test_leeway_is_30_seconds_by_default():
    from django.conf import settings

    assert settings.CART_TOKEN_LEEWAY == 30


@pytest.mark.parametrize("ahead", [1, 5, 30])
def test_token_from_an_instance_whose_clock_is_ahead_by_up_to_the_leeway_is_accepted(ahead):
    token = encode_cart(cart=Cart(), cid="cart-id-0001", now=NOW + ahead)
    assert decode_cart(token, now=NOW).iat == NOW + ahead


def test_token_issued_further_in_the_future_than_the_leeway_is_refused():
    token = encode_cart(cart=Cart(), cid="cart-id-0001", now=NOW + 31)
    with pytest.raises(tokens.NotYetValid) as error:
        decode_cart(token, now=NOW)
    assert error.value.code == "not_yet_valid"


@pytest.mark.parametrize(("nbf", "accepted"), [(NOW + 30, True), (NOW + 31, False)])
def test_nbf_gets_the_same_leeway(forge, nbf, accepted):
    token = forge(claims={"nbf": nbf}, now=NOW)
    if accepted:
        assert decode_cart(token, now=NOW).cid
    else:
        with pytest.raises(tokens.NotYetValid):
            decode_cart(token, now=NOW)


@pytest.mark.parametrize(("late", "accepted"), [(0, True), (29, True), (30, False), (3600, False)])
def test_exp_gets_the_leeway_too_as_pyjwt_gives_it(forge, late, accepted):
    token = forge(claims={"iat": NOW - 600, "orig_iat": NOW - 600, "exp": NOW}, now=NOW)
    if accepted:
        assert decode_cart(token, now=NOW + late).exp == NOW
    else:
        with pytest.raises(tokens.Expired):
            decode_cart(token, now=NOW + late)


def test_zero_leeway_refuses_a_token_issued_a_second_ahead(settings):
    settings.CART_TOKEN_LEEWAY = 0
    token = encode_cart(cart=Cart(), cid="cart-id-0001", now=NOW + 1)
    with pytest.raises(tokens.NotYetValid):
        decode_cart(token, now=NOW)


def test_leeway_follows_the_setting(settings):
    settings.CART_TOKEN_LEEWAY = 120
    token = encode_cart(cart=Cart(), cid="cart-id-0001", now=NOW + 100)
    assert decode_cart(token, now=NOW).iat == NOW + 100


def test_absolute_lifetime_gets_no_leeway(settings):
    settings.CART_TOKEN_MAX_AGE = DAY
    settings.CART_TOKEN_TTL = 2 * DAY
    token = encode_cart(cart=Cart(), cid="cart-id-0001", now=NOW)
    with pytest.raises(tokens.LifetimeExceeded):
        decode_cart(token, now=NOW + DAY)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (7 * DAY, "7 days"),
        (DAY, "1 day"),
        (DAY + 12 * 3600, "1 day and 12 hours"),
        (90, "1 minute and 30 seconds"),
        (3600, "1 hour"),
        (0, "0 seconds"),
    ],
)
def test_durations_are_said_in_words(seconds, words):
    assert tokens.duration(seconds) == words


def test_expiry_message_states_a_ttl_under_a_day_in_hours(settings):
    settings.CART_TOKEN_TTL = 2 * 3600
    token = encode_cart(cart=Cart(), cid="cart-id-0001", now=NOW)
    with pytest.raises(tokens.Expired) as error:
        decode_cart(token, now=NOW + 3 * 3600)
    assert "tokens last 2 hours after the last request" in error.value.message


# --- Keys -----------------------------------------------------------------------


def test_first_key_signs_and_every_key_verifies(settings):
    settings.CART_TOKEN_KEYS = f"new:{KEY_B},old:{KEY_A}"
    assert signing_keys() == [("new", KEY_B.encode()), ("old", KEY_A.encode())]
    assert decode_cart(new_cart_token()).kid == "new"


def test_old_key_is_accepted_while_listed_and_refused_once_removed(settings):
    settings.CART_TOKEN_KEYS = f"old:{KEY_A}"
    token = new_cart_token()
    settings.CART_TOKEN_KEYS = f"new:{KEY_B},old:{KEY_A}"
    assert decode_cart(token).kid == "old"
    settings.CART_TOKEN_KEYS = f"new:{KEY_B}"
    with pytest.raises(tokens.UnknownKey) as error:
        decode_cart(token)
    assert "'old'" in error.value.message


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("k1:short", "at least 32 bytes"),
        (f"k1:{KEY_A},k2:{'x' * 31}", "'k2' is 31 bytes"),
        (KEY_A, "not a valid 'kid:secret' pair"),
        (f"bad kid:{KEY_A}", "not a valid 'kid:secret' pair"),
        (f"k1:{KEY_A},k1:{KEY_B}", "listed twice"),
    ],
)
def test_bad_key_configuration_is_refused_clearly(settings, value, fragment):
    settings.CART_TOKEN_KEYS = value
    with pytest.raises(ImproperlyConfigured, match=fragment):
        signing_keys()


def test_debug_without_keys_derives_a_dev_key_from_the_secret_key(settings):
    settings.CART_TOKEN_KEYS = ""
    settings.DEBUG = True
    [(kid, secret)] = signing_keys()
    assert kid == tokens.DEV_KID
    assert len(secret) == 32
    settings.SECRET_KEY = "another-secret-key-for-this-test"
    assert signing_keys()[0][1] != secret


def test_app_refuses_to_start_without_keys_when_debug_is_off(settings):
    settings.CART_TOKEN_KEYS = ""
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured, match="CART_TOKEN_KEYS is not set and DEBUG is off"):
        apps.get_app_config("api").ready()


def test_app_starts_with_debug_off_when_keys_are_set(settings):
    settings.CART_TOKEN_KEYS = f"k1:{KEY_A}"
    settings.DEBUG = False
    apps.get_app_config("api").ready()
    assert signing_keys() == [("k1", KEY_A.encode())]


def _start_wsgi(**env) -> subprocess.CompletedProcess:
    """Import the WSGI application as gunicorn does (gunicorn runs no system checks)."""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CART_"))},
        "DJANGO_SECRET_KEY": "a-production-like-secret-key-for-this-test-only-" + "0123456789" * 2,
        "DJANGO_DEBUG": "0",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_wsgi_server_does_not_start_without_keys_when_debug_is_off():
    result = _start_wsgi(CART_TOKEN_KEYS="")
    assert result.returncode != 0
    assert "CART_TOKEN_KEYS is not set and DEBUG is off" in result.stderr


def test_wsgi_server_does_not_start_with_a_weak_key():
    result = _start_wsgi(CART_TOKEN_KEYS="k1:tooshort")
    assert result.returncode != 0
    assert "at least 32 bytes" in result.stderr


def test_wsgi_server_starts_with_debug_off_and_good_keys():
    result = _start_wsgi(CART_TOKEN_KEYS=f"k1:{KEY_A}")
    assert result.returncode == 0, result.stderr


# --- Sizes ------------------------------------------------------------------------


def token_size(lines: int) -> int:
    cart = Cart((100_000 + n, 99) for n in range(lines))
    return len(encode_cart(cart=cart, cid=new_cid(), sub=123456).encode())


def test_token_sizes_for_1_10_and_50_lines(capsys):
    sizes = {lines: token_size(lines) for lines in (1, 10, 50)}
    with capsys.disabled():
        print()
        for lines, size in sizes.items():
            print(f"cart token with {lines:>2} lines (6-digit ids, quantity 99, sub): {size} bytes")
    assert sizes[1] < sizes[10] < sizes[50] < 1200


# --- Properties ---------------------------------------------------------------------

carts = st.dictionaries(
    st.integers(min_value=1, max_value=2**63 - 1),
    st.integers(min_value=1, max_value=99),
    max_size=50,
).map(lambda lines: Cart(lines.items()))


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cart=carts,
    sub=st.none() | st.integers(min_value=1, max_value=tokens.MAX_USER_ID),
    cid=st.from_regex(r"\A[A-Za-z0-9_-]{8,64}\Z"),
)
def test_round_trip_of_any_cart(cart, sub, cid):
    decoded = decode_cart(encode_cart(cart=cart, cid=cid, sub=sub))
    assert (decoded.cart, decoded.cid, decoded.sub) == (cart, cid, sub)


@hsettings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_decoder_raises_only_token_errors_on_random_text(text):
    with pytest.raises(TokenError) as error:
        decode_cart(text)
    assert isinstance(error.value, jwt.InvalidTokenError)
    assert error.value.code and error.value.message


jwt_like = st.lists(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=80
    ),
    min_size=1,
    max_size=5,
).map(".".join)


@hsettings(max_examples=300, deadline=None)
@given(jwt_like)
def test_decoder_raises_only_token_errors_on_random_jwt_shapes(text):
    with pytest.raises(TokenError):
        decode_cart(text)


def sign_raw(header: dict, claims: dict, secret: bytes) -> str:
    """A JWT built by hand, so that any header and claims can be signed."""

    def part(value) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{part(header)}.{part(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def test_sign_raw_makes_tokens_the_decoder_accepts():
    kid, secret = signing_keys()[0]
    _, claims = inspect_unverified(new_cart_token())
    token = sign_raw({"alg": "HS256", "typ": "JWT", "kid": kid}, claims, secret)
    assert decode_cart(token).cid == claims["cid"]


@hsettings(max_examples=200, deadline=None)
@given(
    header=st.dictionaries(st.text(max_size=5), st.none() | st.text(max_size=10) | st.integers()),
    claims=st.dictionaries(
        st.sampled_from([*tokens.REQUIRED_CLAIMS, "sub", "nbf"]),
        st.none() | st.text(max_size=10) | st.integers() | st.lists(st.integers(), max_size=3),
    ),
)
def test_decoder_raises_only_token_errors_on_signed_garbage(header, claims):
    kid, secret = signing_keys()[0]
    token = sign_raw({**header, "alg": "HS256", "kid": kid}, claims, secret)
    with contextlib.suppress(TokenError):
        decode_cart(token)


def test_a_token_with_a_trailing_newline_is_not_three_base64url_parts():
    token = new_cart_token()
    for damaged in (f"{token}\n", f"{token}\r\n", f"\n{token}"):
        with pytest.raises(tokens.MalformedToken, match="three base64url parts"):
            decode_cart(damaged)


@pytest.mark.parametrize(
    "claim, value",
    [("cid", "abcdefgh\n"), ("jti", "j1\n"), ("sub", "1\n"), ("uv", "ab\n")],
)
def test_an_id_claim_with_a_trailing_newline_is_refused(forge, claim, value):
    with pytest.raises(tokens.InvalidClaim, match=f"'{claim}'"):
        decode_cart(forge(claims={claim: value}))


def test_decoder_refuses_non_text_input():
    for value in (None, b"a.b.c", 123):
        with pytest.raises(tokens.MalformedToken):
            decode_cart(value)


def test_decoding_reads_the_payload_once(monkeypatch):
    """The header is read from its own segment; the payload only under the signature."""
    read = []
    original = jwt.api_jws.PyJWS._decode_base64url_segment

    def counting(segment, name):
        if segment:
            read.append(name)
        return original(segment, name)

    token = encode_cart(cart=Cart([(1, 2), (3, 4)]), cid=new_cid())
    monkeypatch.setattr(jwt.api_jws.PyJWS, "_decode_base64url_segment", staticmethod(counting))
    decode_cart(token)
    assert read.count("payload") == 1


def test_each_secret_is_checked_once_not_on_every_token(monkeypatch):
    """PyJWT's check that an HMAC secret is not a PEM/SSH/DER/JSON key runs once per secret."""
    checked = []
    original = jwt.algorithms.is_pem_format
    monkeypatch.setattr(
        jwt.algorithms, "is_pem_format", lambda key: checked.append(key) or original(key)
    )
    tokens.HmacKeyCheckedOnce.prepare_key.cache_clear()
    token = new_cart_token()
    for _ in range(5):
        token = encode_cart(cart=decode_cart(token).cart, cid=new_cid())
    assert checked == [signing_keys()[0][1]]
    assert isinstance(jwt.get_algorithm_by_name("HS256"), tokens.HmacKeyCheckedOnce)


def test_a_secret_that_is_an_asymmetric_key_is_still_refused_every_time():
    public_key = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    for _ in range(2):
        with pytest.raises(jwt.InvalidKeyError, match="asymmetric key"):
            jwt.encode({"a": 1}, public_key, algorithm="HS256")


def test_a_damaged_payload_or_signature_is_named_as_such():
    header, payload, signature = new_cart_token().split(".")
    with pytest.raises(tokens.MalformedToken, match="payload"):
        decode_cart(f"{header}.{payload[:-1]}.{signature}")
    with pytest.raises(tokens.BadSignature):
        decode_cart(f"{header}.{payload}.{signature[:-1]}")


def test_reading_a_token_unverified_names_a_cut_signature_and_a_wrong_shape():
    header, payload, signature = new_cart_token().split(".")
    # Cut to 41 of its 43 characters, a length no base64 text has. A cut of one
    # character still reads, as another (shorter) signature, one time in sixteen:
    # unverified, nothing can tell it was cut.
    with pytest.raises(tokens.BadSignature):
        inspect_unverified(f"{header}.{payload}.{signature[:-2]}")
    for parts in ([header], [header, payload], [header, payload, signature, signature]):
        with pytest.raises(tokens.MalformedToken, match="three base64url parts"):
            tokens.read_header(".".join(parts))
