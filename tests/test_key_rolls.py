"""Rolling keys across a fleet: verify-only cart token keys and SECRET_KEY_FALLBACKS.

A fleet learns a new key one instance at a time. At every moment of a roll, a
token or cookie signed by any instance must be accepted by every instance, or
the visitor sent to the instance that does not know the key yet is refused.
The naive roll (each instance in turn signs with the new key) breaks that; the
two-phase roll (first every instance accepts the new key, then every instance
signs with it) keeps it. These tests walk both rolls over three instances.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.sessions.backends import db as db_sessions
from django.contrib.sessions.backends import signed_cookies
from django.core.exceptions import ImproperlyConfigured

from api import tokens
from shop.cart import Cart
from shop.session_cart import load_cart, save_cart

ROOT = Path(__file__).resolve().parent.parent
OLD_TOKEN_SECRET = "oQ7vR2kX9mL4pT8wZ1cF6hJ3nB5dS0gY"
NEW_TOKEN_SECRET = "nW3eK8rT1yU6iO4pA9sD2fG7hJ5kL0zXc"
OLD = f"old:{OLD_TOKEN_SECRET}"
NEW = f"new:{NEW_TOKEN_SECRET}"
OLD_SECRET = "old-Vb7Qe2Rt9Yu4Io1Pa6Sd3Fg8Hj5Kl0Zx-Cv7Bn2Mq9We4Rt1Yu6"
NEW_SECRET = "new-Hq3Wz8Xe1Rc6Tv4Yb9Un2Im7Ok5Pl0As-Dq3Fw8Ge1Hr6Jt4Ky9"
OLDER_SECRET = "older-Mn5Bv0Cx7Za2Lk9Jh4Gf1Ds6Ap3Oi8Uy-Tr5Ew0Qq7"
FLEET = 3


def naive_roll(old, new):
    """Each instance in turn goes from `old` to `new` (which signs at once)."""
    return [[new] * done + [old] * (FLEET - done) for done in range(FLEET + 1)]


def two_phase_roll(old, learning, new):
    """Every instance first learns the new key (`learning`), then every one signs with it."""
    return naive_roll(old, learning) + naive_roll(learning, new)[1:]


def refusals(roll, configure, sign, verify) -> list[int]:
    """Per step of `roll`: how many (signer, verifier) pairs of instances refuse."""
    counts = []
    for fleet in roll:
        refused = 0
        for signer in fleet:
            configure(signer)
            signed = sign()
            for verifier in fleet:
                configure(verifier)
                refused += not verify(signed)
        counts.append(refused)
    return counts


# --- The cart token key -------------------------------------------------------------


def token_configure(settings):
    def configure(instance):
        settings.CART_TOKEN_KEYS, settings.CART_TOKEN_VERIFY_KEYS = instance

    return configure


def sign_token():
    return tokens.encode_cart(cart=Cart([(7, 2)]), cid=tokens.new_cid())


def token_accepted(token) -> bool:
    try:
        return tokens.decode_cart(token).cart == Cart([(7, 2)])
    except tokens.UnknownKey:
        return False


def test_a_verify_only_key_verifies_and_never_signs(settings):
    settings.CART_TOKEN_KEYS = NEW
    token = sign_token()
    settings.CART_TOKEN_KEYS, settings.CART_TOKEN_VERIFY_KEYS = OLD, NEW
    assert tokens.decode_cart(token).kid == "new"
    assert tokens.decode_cart(sign_token()).kid == "old"
    assert tokens.signing_keys() == [("old", OLD_TOKEN_SECRET.encode())]
    assert tokens.verifying_keys() == [
        ("old", OLD_TOKEN_SECRET.encode()),
        ("new", NEW_TOKEN_SECRET.encode()),
    ]


def test_a_token_of_a_key_that_is_neither_signing_nor_verify_only_is_refused(settings):
    settings.CART_TOKEN_KEYS = NEW
    token = sign_token()
    settings.CART_TOKEN_KEYS, settings.CART_TOKEN_VERIFY_KEYS = (
        OLD,
        "other:Zx8Cv3Bn6Mq1We9Rt4Yu7Io2Pa5Sd0Fg",
    )
    with pytest.raises(tokens.UnknownKey):
        tokens.decode_cart(token)


def test_the_naive_token_roll_refuses_tokens_while_the_fleet_is_mixed(settings):
    roll = naive_roll((OLD, ""), (f"{NEW},{OLD}", ""))
    counts = refusals(roll, token_configure(settings), sign_token, token_accepted)
    # Each instance that already signs with `new` is refused by those that do not know it.
    assert counts == [0, 2, 2, 0]


def test_the_two_phase_token_roll_refuses_nothing_at_any_step(settings):
    roll = two_phase_roll((OLD, ""), (OLD, NEW), (f"{NEW},{OLD}", ""))
    counts = refusals(roll, token_configure(settings), sign_token, token_accepted)
    assert len(counts) == 2 * FLEET + 1
    assert counts == [0] * len(counts)
    configure = token_configure(settings)
    configure(roll[-1][0])
    assert tokens.decode_cart(sign_token()).kid == "new"


def test_a_key_both_signing_and_verify_only_is_refused_clearly(settings):
    settings.CART_TOKEN_KEYS, settings.CART_TOKEN_VERIFY_KEYS = (
        OLD,
        "old:Pp4Lk9Jh2Gf7Ds1Az6Xc3Vb8Nm5Qw0Er",
    )
    with pytest.raises(ImproperlyConfigured, match="'old' is also in CART_TOKEN_KEYS"):
        tokens.verifying_keys()


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("new:short", "CART_TOKEN_VERIFY_KEYS: the secret of key 'new' is 5 bytes"),
        ("n" * 40, "CART_TOKEN_VERIFY_KEYS: .* is not a valid 'kid:secret' pair"),
        (f"{NEW},{NEW}", "CART_TOKEN_VERIFY_KEYS: key id 'new' is listed twice"),
    ],
)
def test_a_bad_verify_only_key_is_refused_clearly(settings, value, fragment):
    settings.CART_TOKEN_KEYS, settings.CART_TOKEN_VERIFY_KEYS = OLD, value
    with pytest.raises(ImproperlyConfigured, match=fragment):
        tokens.verifying_keys()


def test_a_server_does_not_start_with_a_bad_verify_only_key():
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CART_"))},
        "DJANGO_SECRET_KEY": OLD_SECRET,
        "DJANGO_DEBUG": "0",
        "CART_TOKEN_KEYS": OLD,
        "CART_TOKEN_VERIFY_KEYS": "new:short",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "CART_TOKEN_VERIFY_KEYS: the secret of key 'new' is 5 bytes" in result.stderr


# --- DJANGO_SECRET_KEY and the web sessions -------------------------------------------


def secret_configure(settings):
    def configure(instance):
        settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = instance

    return configure


def sign_signed_cookie_session():
    session = signed_cookies.SessionStore()
    save_cart(session, Cart([(7, 2)]))
    session.save()
    return session.session_key  # the cookie's value: the session itself


def signed_cookie_cart_kept(cookie) -> bool:
    return load_cart(signed_cookies.SessionStore(cookie)) == Cart([(7, 2)])


SESSION_ROLLS = {
    "naive": naive_roll((OLD_SECRET, []), (NEW_SECRET, [OLD_SECRET])),
    "two-phase": two_phase_roll(
        (OLD_SECRET, []), (OLD_SECRET, [NEW_SECRET]), (NEW_SECRET, [OLD_SECRET])
    ),
}


def test_the_naive_secret_key_roll_loses_signed_cookie_carts_while_the_fleet_is_mixed(settings):
    counts = refusals(
        SESSION_ROLLS["naive"],
        secret_configure(settings),
        sign_signed_cookie_session,
        signed_cookie_cart_kept,
    )
    assert counts == [0, 2, 2, 0]


def test_the_two_phase_secret_key_roll_keeps_every_signed_cookie_cart(settings):
    counts = refusals(
        SESSION_ROLLS["two-phase"],
        secret_configure(settings),
        sign_signed_cookie_session,
        signed_cookie_cart_kept,
    )
    assert counts == [0] * (2 * FLEET + 1)


@pytest.mark.django_db
@pytest.mark.parametrize(("procedure", "expected"), [("naive", [0, 2, 2, 0]), ("two-phase", None)])
def test_database_sessions_are_signed_too_and_roll_the_same_way(settings, procedure, expected):
    """A db session's row is signed with SECRET_KEY: an instance without the key reads {}."""

    def sign():
        session = db_sessions.SessionStore()
        save_cart(session, Cart([(7, 2)]))
        session.save()
        return session.session_key

    def kept(key) -> bool:
        return load_cart(db_sessions.SessionStore(key)) == Cart([(7, 2)])

    roll = SESSION_ROLLS[procedure]
    counts = refusals(roll, secret_configure(settings), sign, kept)
    assert counts == (expected or [0] * len(roll))


def test_secret_key_fallbacks_come_from_the_environment_comma_separated():
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CART_"))},
        "DJANGO_SECRET_KEY": NEW_SECRET,
        "DJANGO_SECRET_KEY_FALLBACKS": f"{OLD_SECRET}, {OLDER_SECRET}",
    }
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-v",
            "0",
            "-c",
            "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([OLD_SECRET, OLDER_SECRET])
