"""The comparison page's row "What the stateless channel still keeps"."""

from http import HTTPStatus

import pytest

from compare.models import DrillResult, MeasurementRun
from shop.models import Order

pytestmark = pytest.mark.django_db


def row_html(admin_client) -> str:
    response = admin_client.get("/admin/compare/")
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    start = html.index('id="row-still_keeps"')
    return html[start : html.index("</tr>", start)]


def test_the_row_measures_spent_cart_ids_and_idempotency_keys(admin_client):
    for n in range(3):
        Order.objects.create(
            channel=Order.Channel.API,
            customer_name="A",
            customer_email="a@example.com",
            customer_address="x",
            total="1.00",
            cart_id=f"cart-id-{n:08d}",  # 16 characters
            idempotency_key="key-1" if n == 0 else "",
        )
    html = row_html(admin_client)
    assert "What the stateless channel still keeps" in html
    assert "Spent cart ids" in html
    assert "48 B" in html  # three 16-character cart ids
    assert "3 rows" in html
    assert "Idempotency keys" in html
    assert "Revocation modes under load" in html  # no run yet


def test_the_row_shows_each_revocation_mode_and_the_drills_of_the_latest_run(admin_client):
    run = MeasurementRun.objects.create(
        environment={
            "hidden_state": {
                "modes": [
                    {
                        "mode": "denylist",
                        "ratio": 0.29,
                        "p99_ratio": 1.1,
                        "lookups_logged_in": 2.0,
                        "lookups_anonymous": 1.0,
                        "revoked": 20,
                        "state_bytes": 2080,
                        "bytes_per_revoked": 104.0,
                        "to_401": "25 ms (401 revoked)",
                        "error": "",
                    }
                ],
                "kept": [],
            }
        }
    )
    MeasurementRun.objects.filter(pk=run.pk).update(finished_at=run.started_at)
    DrillResult.objects.create(
        run=run,
        drill="forked_cart",
        channel="api",
        store="",
        passed=True,
        expected="10 of 20 changes in no order",
        observed="10 of 20 changes in no order",
        details="copies of one token changed apart",
    )
    html = row_html(admin_client)
    assert "Revocation: denylist" in html
    assert "0.29x of the bare view" in html
    assert "2.0 lookups per logged-in request" in html
    assert "104 B per revoked token" in html
    assert "25 ms (401 revoked)" in html
    assert "10 of 20 changes in no order" in html
