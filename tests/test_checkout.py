"""Checkout: place_order for both channels, all or nothing."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop.cart import Cart
from shop.checkout import (
    CartAlreadyOrdered,
    Customer,
    EmptyCart,
    OutOfStock,
    PricesChanged,
    ProductsUnavailable,
    place_order,
)
from shop.models import Order, OrderLine, Product

CUSTOMER = Customer(name="Ada Lovelace", email="ada@example.com", address="12 Analytical St")


def stock_of(product: Product) -> int:
    return Product.objects.values_list("stock", flat=True).get(pk=product.pk)


def test_an_order_copies_names_and_current_prices_into_its_lines(make_product):
    tea = make_product(name="Sencha", price="8.40", stock=10)
    mug = make_product(name="Camp Mug", price="9.90", stock=5)
    order = place_order(cart=Cart().add(tea.pk, 2).add(mug.pk, 1), customer=CUSTOMER, channel="web")
    assert order.channel == "web"
    assert order.total == Decimal("26.70")
    assert order.customer_email == "ada@example.com"
    lines = list(order.lines.values_list("product_id", "name", "unit_price", "quantity"))
    assert lines == [
        (tea.pk, "Sencha", Decimal("8.40"), 2),
        (mug.pk, "Camp Mug", Decimal("9.90"), 1),
    ]


def test_an_order_decrements_stock(make_product):
    tea = make_product(stock=10)
    place_order(cart=Cart().add(tea.pk, 4), customer=CUSTOMER, channel="api")
    assert stock_of(tea) == 6


def test_prices_come_from_the_database_at_checkout_time(make_product):
    tea = make_product(price="8.40")
    cart = Cart().add(tea.pk, 1)
    Product.objects.filter(pk=tea.pk).update(price=Decimal("11.00"))
    order = place_order(cart=cart, customer=CUSTOMER, channel="api")
    assert order.total == Decimal("11.00")
    assert order.lines.get().unit_price == Decimal("11.00")


def test_lines_keep_their_price_after_the_product_changes(make_product):
    tea = make_product(price="8.40")
    order = place_order(cart=Cart().add(tea.pk, 1), customer=CUSTOMER, channel="web")
    Product.objects.filter(pk=tea.pk).update(price=Decimal("99.00"), name="Renamed")
    line = OrderLine.objects.get(order=order)
    assert (line.name, line.unit_price) == (tea.name, Decimal("8.40"))


def test_an_empty_cart_is_refused(db):
    with pytest.raises(EmptyCart, match="empty"):
        place_order(cart=Cart(), customer=CUSTOMER, channel="web")
    assert not Order.objects.exists()


def test_short_stock_is_refused_and_nothing_is_written(make_product):
    plenty = make_product(stock=10)
    scarce = make_product(name="Noise-Cancelling Headphones", stock=2)
    cart = Cart().add(plenty.pk, 3).add(scarce.pk, 3)
    with pytest.raises(OutOfStock) as refused:
        place_order(cart=cart, customer=CUSTOMER, channel="web")
    [shortage] = refused.value.shortages
    assert (shortage.product_id, shortage.requested, shortage.available) == (scarce.pk, 3, 2)
    assert "3 wanted, 2 left" in refused.value.message
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    assert (stock_of(plenty), stock_of(scarce)) == (10, 2)


def test_an_inactive_or_deleted_product_is_refused_and_nothing_is_written(make_product):
    fine = make_product(stock=10)
    retired = make_product(active=False)
    with pytest.raises(ProductsUnavailable) as refused:
        place_order(
            cart=Cart().add(fine.pk).add(retired.pk).add(987654),
            customer=CUSTOMER,
            channel="api",
        )
    assert refused.value.product_ids == [retired.pk, 987654]
    assert not Order.objects.exists()
    assert stock_of(fine) == 10


def test_a_second_order_from_the_same_cart_id_is_refused(make_product):
    tea = make_product(stock=10)
    cart = Cart().add(tea.pk, 1)
    first = place_order(cart=cart, customer=CUSTOMER, channel="api", cart_id="c-1")
    with pytest.raises(CartAlreadyOrdered) as refused:
        place_order(cart=cart, customer=CUSTOMER, channel="api", cart_id="c-1")
    assert refused.value.order == first
    assert Order.objects.count() == 1
    assert stock_of(tea) == 9


def test_orders_without_a_cart_id_never_collide(make_product):
    tea = make_product(stock=10)
    place_order(cart=Cart().add(tea.pk), customer=CUSTOMER, channel="web")
    place_order(cart=Cart().add(tea.pk), customer=CUSTOMER, channel="web")
    assert Order.objects.filter(cart_id__isnull=True).count() == 2


def test_the_order_records_the_user_only_when_logged_in(make_product, django_user_model):
    tea = make_product(stock=10)
    user = django_user_model.objects.create_user("grace", password="x" * 12)
    with_user = place_order(cart=Cart().add(tea.pk), customer=CUSTOMER, channel="web", user=user)
    anonymous = place_order(
        cart=Cart().add(tea.pk), customer=CUSTOMER, channel="web", user=AnonymousUser()
    )
    assert with_user.user == user
    assert anonymous.user is None


def test_an_unknown_channel_is_a_programming_error(make_product):
    with pytest.raises(ValueError):
        place_order(cart=Cart().add(make_product().pk), customer=CUSTOMER, channel="fax")


def test_checkout_query_count_does_not_grow_with_the_number_of_lines(make_product):
    def count_queries(lines: int) -> int:
        cart = Cart()
        for _ in range(lines):
            cart = cart.add(make_product(stock=50).pk, 2)
        with CaptureQueriesContext(connection) as captured:
            place_order(cart=cart, customer=CUSTOMER, channel="web")
        return len(captured.captured_queries)

    one, fifty = count_queries(1), count_queries(50)
    assert one == fifty
    # savepoint, lock, update stock, insert order, insert lines, release savepoint
    assert one == 6


def test_an_api_checkout_adds_one_query_for_the_cart_id(make_product):
    cart = Cart().add(make_product(stock=50).pk, 2)
    with CaptureQueriesContext(connection) as captured:
        place_order(cart=cart, customer=CUSTOMER, channel="api", cart_id="c-9")
    assert len(captured.captured_queries) == 7


def test_a_total_other_than_the_confirmed_one_is_refused_and_nothing_is_written(make_product):
    tea = make_product(price="8.40", stock=10)
    cart = Cart().add(tea.pk, 2)
    Product.objects.filter(pk=tea.pk).update(price=Decimal("9.00"))
    with pytest.raises(PricesChanged) as refused:
        place_order(cart=cart, customer=CUSTOMER, channel="web", expected_total=Decimal("16.80"))
    assert (refused.value.expected, refused.value.actual) == (Decimal("16.80"), Decimal("18.00"))
    assert not Order.objects.exists()
    assert stock_of(tea) == 10
    order = place_order(
        cart=cart, customer=CUSTOMER, channel="web", expected_total=Decimal("18.00")
    )
    assert order.total == Decimal("18.00")
