"""The light-load probe: wrk sends the stateless requests and checks every answer in Lua."""

import shutil

import pytest

from compare.measure import light
from tests.helpers import measurement_stage

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


@pytest.fixture(scope="module")
def stage(django_db_blocker):
    with measurement_stage(django_db_blocker) as stage:
        yield stage


@pytest.fixture(scope="module")
def runs(stage, django_db_blocker):
    with django_db_blocker.unblock():
        return light.measure(stage, lines=3, rounds=1, seconds=1, connections=4, log=lambda _: None)


def test_every_scenario_is_measured_with_every_answer_right(runs):
    assert list(runs) == list(light.ORDER)
    for name, (result,) in runs.items():
        assert result.requests > 50, name
        assert (result.errors, result.wrong) == (0, 0), name
        assert result.server_cpu > 0, name


def test_the_table_puts_the_api_beside_its_twin_and_the_bare_view(runs):
    header, *rows = light.table(runs, lines=3)
    assert "CPU / twin" in header
    # After the name: lines, req/s, ratio, [spread], CPU, wrk, CPU / twin, req/s / twin, ...
    cells = {row[:18].strip(): row[18:].split() for row in rows}
    assert cells["bare Django view"][2] == "1.00x"
    assert cells["API add-to-cart"][0] == "3"
    assert cells["API add-to-cart"][6].endswith("x")
    assert cells["API add-to-cart"][7].endswith("x")
    assert cells["bare DRF view"][6] == "-"


def test_the_check_refuses_an_answer_without_the_added_unit(stage, django_db_blocker):
    """The same run, expecting a quantity the cart does not hold: every answer is refused."""
    with django_db_blocker.unblock():
        product_id = stage.db.query("SELECT id FROM shop_product WHERE active ORDER BY id")[0][0]
    with light.serve("shop", env=stage.env(store="db"), log_dir=stage.log_dir) as shop:
        token = light.cart_token(shop, "/api/cart/items/", [product_id], new_cart=True)
        script = stage.tmp / "wrong.lua"
        script.write_text(light.add_script("/api/cart/items/", token, product_id, 3))
        result = light.run(light.Target("api", shop, script), seconds=1, connections=2)
    assert result.requests > 0
    assert result.wrong == result.requests
