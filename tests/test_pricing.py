"""Pricing: current database prices, one query, and a cleaned cart with notices."""

from decimal import Decimal

from shop.cart import Cart
from shop.pricing import price_cart


def test_an_empty_cart_prices_to_zero_without_a_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        priced = price_cart(Cart())
    assert priced.lines == []
    assert priced.total == Decimal("0.00")


def test_lines_are_priced_from_the_database(make_product):
    tea = make_product(price="8.40", stock=10)
    mug = make_product(price="9.90", stock=10)
    priced = price_cart(Cart().add(tea.pk, 2).add(mug.pk, 1))
    assert [(line.product_id, line.quantity) for line in priced.lines] == [(tea.pk, 2), (mug.pk, 1)]
    assert priced.lines[0].line_total == Decimal("16.80")
    assert priced.total == Decimal("26.70")
    assert priced.item_count == 3
    assert priced.notices == []
    assert not priced.changed


def test_a_price_change_shows_at_the_next_pricing(make_product):
    """The cart holds no price: it cannot show a stale one."""
    tea = make_product(price="8.40")
    cart = Cart().add(tea.pk, 1)
    tea.price = Decimal("9.00")
    tea.save()
    assert price_cart(cart).total == Decimal("9.00")


def test_pricing_one_line_costs_one_query(make_product, django_assert_num_queries):
    cart = Cart().add(make_product().pk)
    with django_assert_num_queries(1):
        price_cart(cart)


def test_pricing_fifty_lines_costs_one_query(make_product, django_assert_num_queries):
    cart = Cart()
    for _ in range(50):
        cart = cart.add(make_product().pk, 2)
    with django_assert_num_queries(1):
        priced = price_cart(cart)
    assert len(priced.lines) == 50


def test_a_deleted_product_is_dropped_with_a_notice(make_product):
    kept = make_product()
    gone = make_product()
    gone_id = gone.pk
    gone.delete()
    priced = price_cart(Cart().add(kept.pk).add(gone_id))
    assert [line.product_id for line in priced.lines] == [kept.pk]
    assert [(n.product_id, n.code) for n in priced.notices] == [(gone_id, "unavailable")]
    assert priced.cart == Cart().add(kept.pk)
    assert priced.changed


def test_a_deactivated_product_is_dropped_with_a_notice_naming_it(make_product):
    retired = make_product(name="Retired Mug", active=False)
    priced = price_cart(Cart().add(retired.pk))
    assert priced.lines == []
    assert priced.notices[0].code == "unavailable"
    assert "Retired Mug" in priced.notices[0].message
    assert not priced.cart


def test_a_quantity_above_stock_is_lowered_with_a_notice(make_product):
    scarce = make_product(name="Headlamp", stock=3)
    priced = price_cart(Cart().add(scarce.pk, 5))
    assert priced.lines[0].quantity == 3
    assert priced.cart.quantity(scarce.pk) == 3
    notice = priced.notices[0]
    assert notice.code == "reduced"
    assert "Only 3" in notice.message and "from 5 to 3" in notice.message


def test_a_sold_out_product_is_dropped_with_a_notice(make_product):
    sold_out = make_product(stock=0)
    priced = price_cart(Cart().add(sold_out.pk, 1))
    assert priced.lines == []
    assert priced.notices[0].code == "sold_out"
