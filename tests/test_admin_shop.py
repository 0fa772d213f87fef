"""The catalogue and order admin: product list editing and low stock, read-only orders."""

from decimal import Decimal
from http import HTTPStatus

import pytest
from django.urls import reverse

from shop.admin import LOW_STOCK
from shop.cart import Cart
from shop.checkout import Customer, place_order
from shop.models import Category, Order, Product

PRODUCTS = reverse("admin:shop_product_changelist")
ORDERS = reverse("admin:shop_order_changelist")
CUSTOMER = Customer(name="Ada Lovelace", email="ada@example.com", address="1 Analytical St")


def test_product_search_finds_by_name(admin_client, make_product):
    make_product(name="Burr Coffee Grinder")
    make_product(name="Chef's Knife 20 cm")
    html = admin_client.get(PRODUCTS, {"q": "grinder"}).content.decode()
    assert "Burr Coffee Grinder" in html
    assert "Chef&#x27;s Knife" not in html


def test_products_filter_by_category_and_active(admin_client, make_product):
    books = Category.objects.create(name="Books", slug="books")
    make_product(name="Release It!", category_obj=books)
    make_product(name="Retired Kettle", active=False)
    make_product(name="Sencha Green Tea")

    html = admin_client.get(PRODUCTS, {"category__id__exact": books.pk}).content.decode()
    assert "Release It!" in html and "Sencha Green Tea" not in html

    html = admin_client.get(PRODUCTS, {"active__exact": "0"}).content.decode()
    assert "Retired Kettle" in html and "Sencha Green Tea" not in html


def test_low_stock_is_shown_in_red_and_normal_stock_is_not(admin_client, make_product):
    low = make_product(name="Almost Gone", stock=LOW_STOCK)
    make_product(name="Plenty", stock=LOW_STOCK + 20)
    response = admin_client.get(PRODUCTS)
    html = response.content.decode()
    assert f'<span class="stock-low">low: {LOW_STOCK}</span>' in html
    forms = {form.instance.pk: form for form in response.context["cl"].formset.forms}
    assert "stock-low" in forms[low.pk].fields["stock"].widget.attrs["class"]
    others = [form for pk, form in forms.items() if pk != low.pk]
    assert all(
        "stock-low" not in form.fields["stock"].widget.attrs.get("class", "") for form in others
    )


def test_price_and_stock_are_editable_in_the_list(admin_client, make_product):
    product = make_product(price="10.00", stock=10)
    response = admin_client.post(
        PRODUCTS,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(product.pk),
            "form-0-price": "12.50",
            "form-0-stock": "3",
            "_save": "Save",
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    product.refresh_from_db()
    assert product.price == Decimal("12.50")
    assert product.stock == 3


def test_negative_stock_in_the_list_is_refused_with_a_message(admin_client, make_product):
    product = make_product(stock=10)
    response = admin_client.post(
        PRODUCTS,
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(product.pk),
            "form-0-price": "10.00",
            "form-0-stock": "-1",
            "_save": "Save",
        },
    )
    assert response.status_code == HTTPStatus.OK
    assert "greater than or equal to 0" in response.content.decode()
    product.refresh_from_db()
    assert product.stock == 10


@pytest.fixture
def orders(make_product, django_user_model):
    product = make_product(price="8.00", stock=100)
    buyer = django_user_model.objects.create_user(username="grace", password="pw-123456789")
    web = place_order(cart=Cart([(product.pk, 2)]), customer=CUSTOMER, channel="web", user=buyer)
    api = place_order(
        cart=Cart([(product.pk, 1)]), customer=CUSTOMER, channel="api", cart_id="cid-12345678"
    )
    return web, api


def test_orders_filter_by_channel(admin_client, orders):
    _, api = orders
    response = admin_client.get(ORDERS, {"channel__exact": "api"})
    assert list(response.context["cl"].result_list) == [api]


def test_orders_filter_by_user(admin_client, orders):
    web, _ = orders
    response = admin_client.get(ORDERS, {"user__id__exact": web.user_id})
    assert list(response.context["cl"].result_list) == [web]


def test_order_list_shows_items_and_totals_per_channel(admin_client, orders):
    response = admin_client.get(ORDERS)
    html = response.content.decode()
    totals = {row["channel"]: row for row in response.context["channel_totals"]}
    assert totals["web"]["orders"] == 1 and totals["web"]["revenue"] == Decimal("16.00")
    assert totals["api"]["revenue"] == Decimal("8.00")
    assert "Totals of the orders selected by the filters" in html
    assert '<td class="field-item_count">2</td>' in html


def test_order_totals_name_the_channels_as_the_list_does(admin_client, orders):
    html = admin_client.get(ORDERS).content.decode()
    totals = html[html.index('class="order-totals"') :]
    assert '<th scope="row">Web shop (session)</th>' in totals
    assert '<th scope="row">JSON API (token)</th>' in totals
    assert "€16.00" in totals


def test_every_admin_page_carries_the_shops_admin_styles(admin_client):
    for url in (ORDERS, "/admin/", "/admin/compare/"):
        assert "css/admin.css" in admin_client.get(url).content.decode()


def test_order_page_shows_lines_read_only(admin_client, orders):
    web, _ = orders
    url = reverse("admin:shop_order_change", args=[web.pk])
    html = admin_client.get(url).content.decode()
    assert "line total" in html.lower()
    assert "16.00" in html
    assert 'name="_save"' not in html  # nothing to save: the order is read-only


def test_orders_cannot_be_changed_or_added_in_the_admin(admin_client, orders):
    web, _ = orders
    url = reverse("admin:shop_order_change", args=[web.pk])
    response = admin_client.post(url, {"customer_name": "Someone Else", "total": "0.01"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    web.refresh_from_db()
    assert web.customer_name == "Ada Lovelace" and web.total == Decimal("16.00")
    assert admin_client.get(reverse("admin:shop_order_add")).status_code == HTTPStatus.FORBIDDEN
    assert Order.objects.count() == 2


def test_order_list_query_count_does_not_grow_with_orders(
    client, admin_user, make_product, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(admin_user)
    product = make_product(stock=1000)
    place_order(cart=Cart([(product.pk, 1)]), customer=CUSTOMER, channel="web")
    with CaptureQueriesContext(connection) as one:
        client.get(ORDERS)
    for n in range(15):
        place_order(cart=Cart([(product.pk, 1 + n % 3)]), customer=CUSTOMER, channel="api")
    with CaptureQueriesContext(connection) as many:
        client.get(ORDERS)
    assert len(many) == len(one)


def test_categories_list_counts_products(admin_client, make_product, category):
    make_product()
    make_product()
    html = admin_client.get(reverse("admin:shop_category_changelist")).content.decode()
    assert '<td class="field-product_count">2</td>' in html
    assert Product.objects.count() == 2
