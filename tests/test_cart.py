"""The Cart value: its rules, its immutability and its compact form."""

import pytest

from shop.cart import (
    Cart,
    CartError,
    InvalidCartData,
    InvalidProductId,
    QuantityOutOfRange,
    TooManyLines,
)


def test_a_new_cart_is_empty():
    cart = Cart()
    assert not cart
    assert len(cart) == 0
    assert cart.item_count == 0
    assert cart.to_compact() == []


def test_adding_a_product_creates_a_line():
    cart = Cart().add(7, 2)
    assert cart.quantity(7) == 2
    assert 7 in cart
    assert cart.item_count == 2


def test_adding_same_product_twice_sums_quantities():
    cart = Cart().add(7, 2).add(7, 3)
    assert cart.quantity(7) == 5
    assert len(cart) == 1


def test_lines_keep_the_order_they_were_first_added_in():
    cart = Cart().add(9).add(3).add(5).add(9)
    assert cart.product_ids == [9, 3, 5]


def test_set_replaces_the_quantity():
    cart = Cart().add(7, 2).set(7, 10)
    assert cart.quantity(7) == 10


def test_set_to_zero_removes_the_line():
    cart = Cart().add(7, 2).add(8).set(7, 0)
    assert 7 not in cart
    assert cart.product_ids == [8]


def test_remove_drops_the_line_and_ignores_absent_products():
    cart = Cart().add(7).add(8)
    assert cart.remove(7).product_ids == [8]
    assert cart.remove(99) == cart


def test_changes_return_a_new_cart_and_leave_the_old_one_alone():
    original = Cart().add(1, 1)
    changed = original.add(1, 1).add(2, 1)
    assert original.to_compact() == [[1, 1]]
    assert changed.to_compact() == [[1, 2], [2, 1]]


def test_a_cart_cannot_be_mutated_in_place():
    cart = Cart().add(1)
    with pytest.raises(AttributeError):
        cart._lines = {}


def test_carts_with_the_same_lines_are_equal_and_hash_alike():
    assert Cart().add(1, 2).add(3) == Cart([(1, 2), (3, 1)])
    assert hash(Cart().add(1, 2)) == hash(Cart([(1, 2)]))


@pytest.mark.parametrize("quantity", [0, -1, 100, 1.5, "2", None, True])
def test_add_refuses_a_quantity_outside_1_to_99(quantity):
    with pytest.raises(QuantityOutOfRange):
        Cart().add(1, quantity)


@pytest.mark.parametrize("quantity", [-1, 100, 2.0, "3"])
def test_set_refuses_a_quantity_outside_0_to_99(quantity):
    with pytest.raises(QuantityOutOfRange):
        Cart().add(1).set(1, quantity)


def test_adding_beyond_99_of_one_product_is_refused_and_says_what_is_held():
    cart = Cart().add(1, 98)
    with pytest.raises(QuantityOutOfRange, match="already holds 98"):
        cart.add(1, 2)
    assert cart.add(1, 1).quantity(1) == 99


@pytest.mark.parametrize("product_id", [0, -3, 2**63, "7", 7.0, None, False])
def test_product_ids_must_be_positive_integers(product_id):
    with pytest.raises(InvalidProductId):
        Cart().add(product_id, 1)


def test_a_cart_holds_at_most_50_distinct_products():
    cart = Cart()
    for product_id in range(1, 51):
        cart = cart.add(product_id)
    assert len(cart) == 50
    with pytest.raises(TooManyLines):
        cart.add(51)
    # more of a product already in the cart is still fine
    assert cart.add(50).quantity(50) == 2


def test_limits_are_settings(settings):
    settings.CART_MAX_LINES = 2
    settings.CART_MAX_QUANTITY = 5
    cart = Cart().add(1, 5).add(2)
    with pytest.raises(TooManyLines):
        cart.add(3)
    with pytest.raises(QuantityOutOfRange):
        cart.add(2, 5)


def test_every_cart_error_has_a_code_and_a_message():
    for error in (InvalidProductId, QuantityOutOfRange, TooManyLines, InvalidCartData):
        assert issubclass(error, CartError)
        assert error.code
    with pytest.raises(CartError) as raised:
        Cart().add(1, 0)
    assert "1 to 99" in raised.value.message


def test_compact_round_trip_keeps_lines_and_order():
    cart = Cart().add(5, 3).add(2, 1).add(40, 99)
    compact = cart.to_compact()
    assert compact == [[5, 3], [2, 1], [40, 99]]
    assert Cart.from_compact(compact) == cart


def test_compact_form_survives_json():
    import json

    cart = Cart().add(5, 3).add(2, 1)
    assert Cart.from_compact(json.loads(json.dumps(cart.to_compact()))) == cart


def test_from_compact_of_none_is_an_empty_cart():
    assert Cart.from_compact(None) == Cart()


@pytest.mark.parametrize(
    "data",
    [
        {"5": 3},
        "[[5, 3]]",
        [[5]],
        [[5, 3, 1]],
        [5, 3],
        [[5, 3], [5, 1]],
        [["5", 3]],
        [[5, "3"]],
        [[5, 0]],
        [[5, 100]],
        [[-1, 1]],
        [[i, 1] for i in range(1, 52)],
    ],
)
def test_from_compact_rejects_anything_that_breaks_the_rules(data):
    with pytest.raises(CartError):
        Cart.from_compact(data)
