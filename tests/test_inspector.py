"""The token inspector: it shows what a cart token says, and its verdict is the API's own."""

import base64
import json
import time
from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.test import Client

from api.tokens import encode_cart, new_cid
from compare.inspector import inspect_token
from shop.cart import Cart

URL = "/admin/compare/"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(alg: str, claims: dict) -> str:
    return f"{b64({'alg': alg, 'typ': 'JWT', 'kid': 'dev'})}.{b64(claims)}."


@pytest.fixture
def cart_token(make_product):
    first = make_product(name="Burr Coffee Grinder")
    second = make_product(name="French Press 800 ml")
    cart = Cart([(first.pk, 1), (second.pk, 3)])
    return encode_cart(cart=cart, cid=new_cid())


def test_valid_token_shows_header_claims_dates_and_cart_names(cart_token):
    now = datetime.now(tz=UTC)
    inspection = inspect_token(cart_token, now=now)

    assert inspection.valid
    assert inspection.findings == []
    assert inspection.signature_valid
    assert inspection.header["alg"] == "HS256"
    assert [(line.name, line.quantity) for line in inspection.cart_lines] == [
        ("Burr Coffee Grinder", 1),
        ("French Press 800 ml", 3),
    ]
    times = {t.name: t for t in inspection.times}
    assert times["exp"].when > now
    assert times["exp"].when.tzinfo == UTC
    assert times["iat"].relative.endswith("ago") or times["iat"].relative.endswith(" s")


def test_inspecting_reads_the_cart_products_in_one_query(cart_token, django_assert_num_queries):
    with django_assert_num_queries(1):
        inspection = inspect_token(cart_token)
    assert len(inspection.cart_lines) == 2


def test_bearer_prefix_is_accepted(cart_token):
    assert inspect_token(f"Bearer {cart_token}").valid


def test_expired_token_says_when_it_expired(forge):
    now = int(time.time())
    token = forge(claims={"iat": now - 7200, "orig_iat": now - 7200, "exp": now - 3600})
    inspection = inspect_token(token)
    assert not inspection.valid
    assert inspection.api_code == "expired"
    assert inspection.kinds == ["expired"]
    when = datetime.fromtimestamp(now - 3600, tz=UTC)
    assert f"{when:%Y-%m-%d %H:%M} UTC" in inspection.findings[0].message
    # The signature itself is fine: the inspector says so.
    assert inspection.signature_valid


def test_the_verdict_is_decode_carts_own_code_and_message(forge):
    from api import tokens

    token = forge(claims={"v": 2})
    with pytest.raises(tokens.TokenError) as refused:
        tokens.decode_cart(token)
    inspection = inspect_token(token)
    assert (inspection.api_code, inspection.api_message) == (
        refused.value.code,
        refused.value.message,
    )
    assert [(f.kind, f.message) for f in inspection.findings] == [
        (refused.value.code, refused.value.message)
    ]


def test_token_signed_with_an_unknown_key_names_the_key(forge):
    token = forge(header={"kid": "retired-2025"}, key="x" * 40)
    inspection = inspect_token(token)
    assert inspection.api_code == "unknown_key"
    assert inspection.kinds == ["unknown_key"]
    assert "retired-2025" in inspection.findings[0].message
    assert not inspection.signature_checked


def test_tampered_claims_break_the_signature(forge, product):
    token = forge(claims={"cart": [[product.pk, 1]]})
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cart"] = [[product.pk, 99]]
    tampered = f"{header}.{b64(claims)}.{signature}"

    inspection = inspect_token(tampered)

    assert inspection.api_code == "bad_signature"
    assert inspection.kinds == ["bad_signature"]
    assert inspection.signature_checked and not inspection.signature_valid
    assert "altered" in inspection.findings[0].message
    # What the tampered token claims is still shown, marked as untrusted by the verdict.
    assert inspection.cart_lines[0].quantity == 99


def test_wrong_audience_is_explained(forge):
    inspection = inspect_token(forge(claims={"aud": "shop:receipt"}))
    assert inspection.api_code == "wrong_audience"
    assert inspection.kinds == ["wrong_audience"]
    assert "another purpose" in inspection.findings[0].message


def test_wrong_issuer_is_explained(forge):
    inspection = inspect_token(forge(claims={"iss": "someone-else"}))
    assert inspection.api_code == "wrong_issuer"
    assert inspection.kinds == ["wrong_issuer"]


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused_as_the_api_refuses_it(alg, forge):
    signed = forge()
    claims = json.loads(base64.urlsafe_b64decode(signed.split(".")[1] + "=="))
    inspection = inspect_token(unsigned(alg, claims))
    assert not inspection.valid
    assert inspection.api_code == "bad_algorithm"
    assert inspection.kinds == ["bad_algorithm"]
    assert repr(alg) in inspection.findings[0].message
    assert not inspection.signature_checked


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_other_algorithms_are_explained(algorithm, forge):
    inspection = inspect_token(forge(algorithm=algorithm, key="k" * 64))
    assert inspection.api_code == "bad_algorithm"
    assert inspection.kinds == ["bad_algorithm"]
    assert algorithm in inspection.findings[0].message


def test_too_large_token_is_refused_before_reading(settings):
    token = "a" * (settings.CART_TOKEN_MAX_BYTES + 1)
    inspection = inspect_token(token)
    assert inspection.api_code == "too_large"
    assert inspection.kinds == ["too_large"]
    assert inspection.header is None
    assert f"at most {settings.CART_TOKEN_MAX_BYTES} bytes" in inspection.findings[0].message


@pytest.mark.parametrize("token", ["abc.def", "a.b.c.d", "!!!.???.***", ""])
def test_malformed_tokens_are_explained(token):
    inspection = inspect_token(token)
    assert not inspection.valid
    assert inspection.kinds == ["malformed"]
    assert "three base64url parts" in inspection.findings[0].message


def test_missing_claim_is_named(forge):
    inspection = inspect_token(forge(drop=("cid",)))
    assert inspection.api_code == "missing_claim"
    assert inspection.kinds == ["missing_claim"]
    assert "'cid'" in inspection.findings[0].message


def test_key_url_headers_are_explained(forge):
    inspection = inspect_token(forge(header={"jku": "https://attacker.example/keys.json"}))
    assert inspection.kinds == ["unsupported_header"]
    assert "jku" in inspection.findings[0].message
    assert inspection.header["jku"] == "https://attacker.example/keys.json"


def test_token_from_the_future_is_explained(forge):
    later = int(time.time()) + 3600
    inspection = inspect_token(forge(claims={"iat": later, "orig_iat": later, "exp": later + 60}))
    assert inspection.kinds == ["not_yet_valid"]


def test_logged_in_cart_token_shows_the_user(forge, admin_user):
    inspection = inspect_token(forge(claims={"sub": str(admin_user.pk)}))
    assert inspection.valid
    assert inspection.user == f"{admin_user.username} (id {admin_user.pk})"


# --- Through the page -----------------------------------------------------------------


def test_inspector_on_the_page_shows_the_cart_and_the_verdict(admin_client, cart_token):
    response = admin_client.post(URL, {"token": cart_token})
    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "The API accepts this token" in html
    assert "Burr Coffee Grinder" in html
    assert "French Press 800 ml" in html
    assert " UTC" in html


def test_inspector_on_the_page_explains_a_refusal(admin_client, forge):
    now = int(time.time())
    token = forge(claims={"iat": now - 7200, "orig_iat": now - 7200, "exp": now - 60})
    html = admin_client.post(URL, {"token": token}).content.decode()
    assert "The API refuses this token" in html
    assert 'data-kind="expired"' in html


def test_inspector_needs_the_csrf_token(admin_user, cart_token):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(URL, {"token": cart_token})
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_inspector_writes_nothing(admin_client, cart_token):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        admin_client.post(URL, {"token": cart_token})
    statements = [q["sql"].lstrip().split()[0].upper() for q in queries.captured_queries]
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements)


def test_sample_token_is_made_inspected_and_valid(admin_client, make_product):
    make_product(name="Burr Coffee Grinder")
    response = admin_client.get(URL, {"sample": "1"})
    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert response.context["inspection"].valid
    assert "The API accepts this token" in html
    assert "Burr Coffee Grinder" in html
    assert response.context["form"].initial["token"] == response.context["inspection"].token


def test_anonymous_visitor_cannot_use_the_inspector(client, cart_token):
    response = client.post(URL, {"token": cart_token})
    assert response.status_code == HTTPStatus.FOUND
    assert "accepts this token" not in response.content.decode()


@pytest.mark.parametrize("product_id", [2**63, 10**30, -5, 0])
def test_impossible_product_ids_and_users_are_shown_not_looked_up(db, product_id):
    token = unsigned("HS256", {"cart": [[product_id, 10**30]], "sub": str(10**30)})
    inspection = inspect_token(token)
    assert not inspection.valid
    assert [line.product_id for line in inspection.cart_lines] == [product_id]
    assert "not in the catalogue" in inspection.cart_lines[0].name
    assert inspection.user.startswith("unknown user")


def test_time_findings_forgive_the_same_clock_skew_as_the_api(forge, settings):
    now = int(time.time())
    token = forge(claims={"iat": now + 10, "exp": now + 3600})
    inspection = inspect_token(token)
    assert inspection.valid
    assert "not_yet_valid" not in inspection.kinds
    settings.CART_TOKEN_LEEWAY = 0
    assert "not_yet_valid" in inspect_token(token).kinds
