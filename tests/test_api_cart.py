"""The catalogue and the cart endpoints of the JSON API: answers, bad bodies, query budgets."""

from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.tokens import decode_cart
from shop.cart import Cart
from shop.models import Category

# --- Catalogue -------------------------------------------------------------------------


def test_product_list_is_a_drf_page_of_active_products(api, make_product):
    shown = make_product(name="Green Tea", price="4.50", stock=3)
    make_product(name="Hidden", active=False)
    response = api.get("/api/products/")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    assert body["results"] == [
        {
            "id": shown.pk,
            "slug": shown.slug,
            "name": "Green Tea",
            "description": shown.description,
            "category": "coffee-tea",
            "price": "4.50",
            "stock": 3,
            "available": True,
        }
    ]


def test_product_list_searches_and_filters_by_category(api, make_product):
    other = Category.objects.create(name="Cups", slug="cups")
    make_product(name="Green Tea")
    make_product(name="Black Tea")
    make_product(name="Tea Cup", category_obj=other)
    names = lambda query: [p["name"] for p in api.get(f"/api/products/{query}").json()["results"]]  # noqa: E731
    assert names("?search=green") == ["Green Tea"]
    assert names("?category=cups") == ["Tea Cup"]
    assert names("?search=tea&category=coffee-tea") == ["Black Tea", "Green Tea"]


def test_product_list_is_paginated_by_20(api, make_product):
    for _ in range(23):
        make_product()
    first = api.get("/api/products/").json()
    assert (first["count"], len(first["results"])) == (23, 20)
    assert len(api.get("/api/products/?page=2").json()["results"]) == 3
    response = api.get("/api/products/?page=9")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


def test_sold_out_product_is_listed_as_unavailable(api, make_product):
    product = make_product(stock=0)
    assert api.get(f"/api/products/{product.pk}/").json()["available"] is False


def test_inactive_or_unknown_product_detail_is_404(api, make_product):
    hidden = make_product(active=False)
    for path in (f"/api/products/{hidden.pk}/", "/api/products/999999/"):
        response = api.get(path)
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert set(response.json()) == {"detail", "code"}


# --- The cart ----------------------------------------------------------------------------


def test_post_cart_starts_a_new_empty_cart_with_201(api):
    response = api.post("/api/cart/")
    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body["cart"] == {
        "items": [],
        "total": "0.00",
        "item_count": 0,
        "expires_at": body["cart"]["expires_at"],
        "notices": [],
    }
    assert decode_cart(body["token"]).cart.to_compact() == []


def test_adding_a_product_answers_with_live_prices_and_a_new_token(api, product):
    response = api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 2})
    assert response.status_code == HTTPStatus.OK
    cart = response.json()["cart"]
    assert cart["items"] == [
        {
            "product_id": product.pk,
            "name": product.name,
            "quantity": 2,
            "unit_price": "24.00",
            "line_total": "48.00",
        }
    ]
    assert (cart["total"], cart["item_count"]) == ("48.00", 2)


def test_adding_same_product_twice_sums_quantities(api, product):
    api.post("/api/cart/items/", {"product_id": product.pk})
    response = api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 3})
    assert response.json()["cart"]["items"][0]["quantity"] == 4


def test_cart_id_stays_the_same_across_every_change(api, product, make_product):
    other = make_product()
    cids = {decode_cart(api.post("/api/cart/").json()["token"]).cid}
    for method, path, body in (
        ("POST", "/api/cart/items/", {"product_id": product.pk}),
        ("POST", "/api/cart/items/", {"product_id": other.pk}),
        ("PUT", f"/api/cart/items/{product.pk}/", {"quantity": 5}),
        ("DELETE", f"/api/cart/items/{other.pk}/", None),
        ("GET", "/api/cart/", None),
    ):
        response = api.call(method, path, body)
        assert response.status_code == HTTPStatus.OK
        cids.add(decode_cart(response.json()["token"]).cid)
    assert len(cids) == 1
    assert api.get("/api/cart/").json()["cart"]["item_count"] == 5


def test_put_sets_the_quantity_and_zero_removes_the_line(api, product):
    api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 2})
    assert (
        api.put(f"/api/cart/items/{product.pk}/", {"quantity": 7}).json()["cart"]["item_count"] == 7
    )
    assert api.put(f"/api/cart/items/{product.pk}/", {"quantity": 0}).json()["cart"]["items"] == []


def test_delete_removes_a_line_and_deleting_an_absent_line_is_404(api, product):
    api.post("/api/cart/items/", {"product_id": product.pk})
    assert api.delete(f"/api/cart/items/{product.pk}/").json()["cart"]["items"] == []
    response = api.delete(f"/api/cart/items/{product.pk}/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_in_cart"


def test_put_of_a_product_not_in_the_cart_is_404_and_adds_nothing(api, product, make_product):
    other = make_product()
    api.post("/api/cart/items/", {"product_id": product.pk})
    response = api.put(f"/api/cart/items/{other.pk}/", {"quantity": 2})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_in_cart"
    assert decode_cart(api.token).cart == Cart([(product.pk, 1)])


def test_put_of_a_product_not_for_sale_is_404(api, make_product):
    hidden = make_product(active=False)
    for product_id in (hidden.pk, 999_999):
        response = api.put(f"/api/cart/items/{product_id}/", {"quantity": 1})
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert response.json()["code"] == "not_for_sale"


def test_every_answer_reissues_the_token_with_a_fresh_jti(api, product):
    first = api.post("/api/cart/items/", {"product_id": product.pk}).json()["token"]
    second = api.get("/api/cart/").json()["token"]
    assert first != second
    assert decode_cart(first).jti != decode_cart(second).jti
    assert decode_cart(second).exp >= decode_cart(first).exp


def test_a_product_withdrawn_after_adding_is_dropped_with_a_notice(api, product, make_product):
    kept = make_product(price="1.00")
    api.post("/api/cart/items/", {"product_id": product.pk})
    api.post("/api/cart/items/", {"product_id": kept.pk})
    product.active = False
    product.save()
    body = api.get("/api/cart/").json()
    assert [item["product_id"] for item in body["cart"]["items"]] == [kept.pk]
    assert body["cart"]["notices"] == [
        {
            "product_id": product.pk,
            "code": "unavailable",
            "message": f"“{product.name}” is no longer sold; it was removed.",
        }
    ]
    assert decode_cart(body["token"]).cart.product_ids == [kept.pk]
    assert api.get("/api/cart/").json()["cart"]["notices"] == []


def test_a_quantity_above_stock_is_refused_with_409_and_the_cart_unchanged(api, make_product):
    scarce = make_product(stock=2)
    api.post("/api/cart/items/", {"product_id": scarce.pk, "quantity": 1})
    for method, path, body in (
        ("POST", "/api/cart/items/", {"product_id": scarce.pk, "quantity": 5}),
        ("PUT", f"/api/cart/items/{scarce.pk}/", {"quantity": 3}),
    ):
        response = api.call(method, path, body)
        assert response.status_code == HTTPStatus.CONFLICT
        assert response.json()["code"] == "not_enough_stock"
        assert response.json()["detail"].startswith(f"Only 2 of “{scarce.name}” in stock")
    assert decode_cart(api.token).cart == Cart([(scarce.pk, 1)])


def test_stock_lowered_after_adding_is_reduced_with_a_notice(api, make_product):
    scarce = make_product(stock=5)
    api.post("/api/cart/items/", {"product_id": scarce.pk, "quantity": 4})
    scarce.stock = 2
    scarce.save()
    body = api.get("/api/cart/").json()
    assert body["cart"]["items"][0]["quantity"] == 2
    assert body["cart"]["notices"][0]["code"] == "reduced"


# --- Bad bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"quantity": "two"}, "quantity"),
        ({"quantity": 10**9}, "quantity"),
        ({"quantity": True}, "quantity"),
        ({"quantity": None}, "quantity"),
        ({"product_id": "1"}, "product_id"),
        ({"product_id": 0}, "product_id"),
        ({"product_id": 2**64}, "product_id"),
        ({"product_id": None}, "product_id"),
    ],
)
def test_bad_add_body_is_400_with_field_errors(api, product, body, field):
    body = {"product_id": product.pk, "quantity": 1, **body}
    response = api.post("/api/cart/items/", body, token=None)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    errors = response.json()
    assert list(errors) == [field]
    assert isinstance(errors[field], list)
    assert errors[field][0]


def test_missing_product_id_is_a_field_error(api):
    response = api.post("/api/cart/items/", {"quantity": 1})
    assert response.json() == {"product_id": ["This field is required."]}


@pytest.mark.parametrize("quantity", [-1, 1.5, "two", 100, 10**9])
def test_bad_put_quantity_is_400(api, product, quantity):
    response = api.put(f"/api/cart/items/{product.pk}/", {"quantity": quantity})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == ["quantity"]


def test_adding_more_than_99_in_total_is_a_409_conflict_with_the_cart(api, product):
    product.stock = 500
    product.save()
    api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 60})
    response = api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 60})
    assert response.status_code == HTTPStatus.CONFLICT  # the body is valid; the cart is full
    assert response.json()["code"] == "invalid_quantity"
    assert "At most 99" in response.json()["detail"]


def test_unknown_or_inactive_product_is_404_and_sold_out_a_409(api, make_product):
    inactive = make_product(active=False)
    sold_out = make_product(stock=0)
    for product_id, fragment in (
        (999_999, "Product 999999 is not for sale"),
        (inactive.pk, f"“{inactive.name}” is not for sale"),
    ):
        response = api.post("/api/cart/items/", {"product_id": product_id})
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert response.json()["code"] == "not_for_sale"
        assert fragment in response.json()["detail"]
    response = api.post("/api/cart/items/", {"product_id": sold_out.pk})
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "sold_out"


def test_fifty_one_lines_are_refused(api, make_product):
    products = [make_product() for _ in range(51)]
    for product in products[:50]:
        assert api.post("/api/cart/items/", {"product_id": product.pk}).status_code == 200
    response = api.post("/api/cart/items/", {"product_id": products[50].pk})
    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "too_many_lines"
    assert "at most 50" in response.json()["detail"]
    assert len(decode_cart(api.token).cart) == 50


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "{not json", "", "NaN"])
def test_body_that_is_not_a_json_object_is_400(api, raw):
    response = api.client.post("/api/cart/items/", data=raw, content_type="application/json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert (
        ("detail" in body and "code" in body)
        or "non_field_errors" in body
        or body.get("product_id")
    )


def test_form_encoded_body_is_415(api, product):
    response = api.client.post("/api/cart/items/", {"product_id": product.pk})
    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert response.json()["code"] == "unsupported_media_type"


def test_prices_sent_by_the_client_are_ignored(api, product):
    body = {"product_id": product.pk, "quantity": 1, "unit_price": "0.01", "total": "0.01"}
    cart = api.post("/api/cart/items/", body).json()["cart"]
    assert cart["items"][0]["unit_price"] == "24.00"
    assert Decimal(cart["total"]) == Decimal("24.00")


# --- Query budgets -------------------------------------------------------------------------


@pytest.mark.parametrize("lines", [1, 10, 50])
def test_each_cart_endpoint_makes_one_read_query_whatever_the_lines(api, make_product, lines):
    products = [make_product() for _ in range(lines)]
    for product in products:
        api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 2})
    assert len(decode_cart(api.token).cart) == lines
    target = products[0].pk
    for method, path, body in (
        ("GET", "/api/cart/", None),
        ("POST", "/api/cart/items/", {"product_id": target, "quantity": 1}),
        ("PUT", f"/api/cart/items/{target}/", {"quantity": 3}),
        ("DELETE", f"/api/cart/items/{target}/", None),
    ):
        with CaptureQueriesContext(connection) as queries:
            response = api.call(method, path, body)
        assert response.status_code == HTTPStatus.OK, (method, path, response.content)
        # One read of the products; none when the cart is left empty.
        assert len(queries) <= 1, (method, path, [q["sql"] for q in queries])
        assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in queries)
        assert len(queries) == (1 if decode_cart(api.token).cart else 0)


def test_empty_cart_and_new_cart_make_no_query(api, django_assert_num_queries):
    with django_assert_num_queries(0):
        api.post("/api/cart/", token=None)
        api.get("/api/cart/")
        api.get("/api/cart/", token=None)


def test_unknown_api_address_is_a_json_404(api):
    response = api.get("/api/nothing-here/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


def test_missing_trailing_slash_is_pointed_out(api):
    response = api.post("/api/cart", {})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["detail"] == "Did you mean /api/cart/ (with a trailing slash)?"
