"""Product pictures: every demo product has a drawing of its own, and any product a picture."""

import xml.etree.ElementTree as ET
from http import HTTPStatus

import pytest
from django.core.management import call_command

from shop.models import Product
from shop.pictures import DRAWINGS, product_svg

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("seed_demo", verbosity=0)
    return list(Product.objects.select_related("category"))


def test_every_demo_product_has_a_drawing_of_its_own(demo):
    assert len(demo) == 40
    assert {product.slug for product in demo} == set(DRAWINGS)
    drawings = {DRAWINGS[product.slug]() for product in demo}
    assert len(drawings) == 40


def test_every_demo_picture_is_a_valid_svg_named_for_its_product(client, demo):
    for product in demo:
        response = client.get(f"/products/{product.slug}/picture.svg")
        assert response.status_code == HTTPStatus.OK
        root = ET.fromstring(response.content)  # noqa: S314 - the shop's own drawing
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.get("aria-label") == product.name
        assert root.get("viewBox") == "0 0 240 240"


def test_a_book_cover_carries_its_title(demo):
    svg = product_svg(name="Release It!", category_slug="books", slug="release-it")
    assert ">Release It!</text>" in svg


def test_a_product_without_a_drawing_gets_its_category_object_and_its_name(make_product):
    product = make_product(name="Milk Frother <Pro>")
    svg = product_svg(name=product.name, category_slug="coffee-tea", slug=product.slug)
    ET.fromstring(svg)  # noqa: S314 - the shop's own drawing
    assert "Milk Frother &lt;Pro&gt;" in svg
    other = product_svg(name="Another Frother", category_slug="coffee-tea", slug="another")
    assert other != svg
