"""/admin/compare/: who may see it, that its figures are the real ones, at a fixed query cost."""

from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from api.tokens import decode_cart, encode_cart, new_cid
from api.views import place_token_order
from compare import charts, figures
from compare.models import BenchmarkResult, DrillResult, MeasurementRun
from compare.views import TRADEOFFS
from shop.cart import Cart
from shop.checkout import Customer, place_order
from shop.models import Order

URL = "/admin/compare/"
CUSTOMER = Customer(name="Ada Lovelace", email="ada@example.com", address="1 Analytical St")


@pytest.fixture
def web_session():
    """Save a db-store session holding `cart`; expired when `expired=True`."""

    def make(cart: Cart, *, expired: bool = False, user_id: int | None = None) -> SessionStore:
        session = SessionStore()
        session["cart"] = cart.to_compact()
        if user_id is not None:
            session["_auth_user_id"] = str(user_id)
        session.create()
        if expired:
            Session.objects.filter(pk=session.session_key).update(
                expire_date=timezone.now() - timedelta(hours=1)
            )
        return session

    return make


@pytest.fixture
def api_order(product):
    """Place an API order the way the API does: the cart from a token, its size recorded."""

    def make(quantity: int = 1) -> Order:
        token = encode_cart(cart=Cart([(product.pk, quantity)]), cid=new_cid())
        return place_token_order(decode_cart(token), customer=CUSTOMER)

    return make


def test_anonymous_visitor_is_sent_to_the_admin_login(client):
    response = client.get(URL)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("admin:login"))


def test_non_staff_user_cannot_see_the_comparison(client, django_user_model):
    user = django_user_model.objects.create_user(username="shopper", password="pw-123456789")
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("admin:login"))


def test_non_staff_user_cannot_post_to_the_token_inspector(client, django_user_model):
    user = django_user_model.objects.create_user(username="shopper", password="pw-123456789")
    client.force_login(user)
    response = client.post(URL, {"token": "a.b.c"})
    assert response.status_code == HTTPStatus.FOUND
    assert "The API refuses" not in response.content.decode()


def test_staff_user_sees_the_page_inside_the_admin(admin_client):
    response = admin_client.get(URL)
    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert 'class="breadcrumbs"' in html
    assert "Corner Shop admin" in html
    for row in ("Session management", "Scalability", "Resilience", "Complexity", "Use cases"):
        assert row in html


def test_admin_index_links_to_the_comparison(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert f'href="{URL}"' in html


def test_session_figures_count_live_carts_bytes_and_abandoned_carts(web_session, make_product):
    first, second = make_product(), make_product()
    live = web_session(Cart([(first.pk, 2), (second.pk, 1)]))
    web_session(Cart([(first.pk, 1)]))
    web_session(Cart())  # a login or an emptied cart: a session, not a cart
    web_session(Cart([(second.pk, 4)]), expired=True)

    result = figures.session_figures()

    rows = {s.pk: s for s in Session.objects.all()}
    live_rows = [s for s in rows.values() if s.expire_date > timezone.now()]
    assert result.store == "db"
    assert result.sessions == 3
    assert result.carts == 2
    assert result.cart_items == 3 + 1
    assert result.cart_bytes == sum(
        len(s.session_data) for s in live_rows if s.get_decoded().get("cart")
    )
    assert result.session_bytes == sum(len(s.session_data) for s in live_rows)
    assert result.abandoned_carts == 1
    assert result.abandoned_items == 4
    assert result.expired_sessions == 1
    expected_written = rows[live.session_key].expire_date - timedelta(
        seconds=live.get_session_cookie_age()
    )
    assert abs(result.oldest_cart_written - expected_written) < timedelta(seconds=5)


def test_page_shows_the_session_and_order_figures_read_back(
    admin_client, web_session, api_order, product, make_product
):
    other = make_product(price="5.00")
    web_session(Cart([(product.pk, 1), (other.pk, 2)]))
    web_session(Cart([(other.pk, 3)]))
    web_session(Cart([(other.pk, 1)]), expired=True)
    place_order(cart=Cart([(other.pk, 2)]), customer=CUSTOMER, channel="web")
    first, second = api_order(1), api_order(3)

    response = admin_client.get(URL)
    data = response.context["data"]
    html = response.content.decode()

    assert data.sessions.carts == 2
    assert data.sessions.abandoned_carts == 1
    assert data.orders.web.orders == 1
    assert data.orders.web.revenue == Decimal("10.00")
    assert data.orders.api.orders == 2
    assert data.orders.api.revenue == first.total + second.total == Decimal("96.00")
    assert data.orders.api.token_bytes_max == max(first.token_bytes, second.token_bytes)
    assert data.orders.api.token_bytes_avg == pytest.approx(
        (first.token_bytes + second.token_bytes) / 2
    )
    assert "96.00" in html
    assert f"max {second.token_bytes:,} B" in html or f"max {first.token_bytes:,} B" in html


def test_token_sizes_are_measured_with_the_api_encoder():
    rows = {row.lines: row for row in figures.token_sizes()}
    assert set(rows) == {1, 10, 50}
    for lines, row in rows.items():
        token = encode_cart(cart=figures.sample_cart(lines), cid=new_cid())
        # Only jti (random, fixed length) and times differ between two encodings.
        assert abs(row.token_bytes - len(token)) <= 4
    assert rows[1].token_bytes < rows[10].token_bytes < rows[50].token_bytes
    assert rows[50].session_bytes > rows[1].session_bytes


def test_orders_by_day_fill_every_day_and_split_by_channel(product):
    place_order(cart=Cart([(product.pk, 1)]), customer=CUSTOMER, channel="web")
    place_order(cart=Cart([(product.pk, 1)]), customer=CUSTOMER, channel="web")
    old = place_order(cart=Cart([(product.pk, 1)]), customer=CUSTOMER, channel="api")
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))

    days = figures.orders_by_day(days=7)

    assert len(days) == 7
    assert days[-1].counts == {"web": 2, "api": 0}
    assert days[-3].counts == {"web": 0, "api": 1}
    assert sum(sum(d.counts.values()) for d in days) == 3


def test_page_says_how_to_produce_benchmarks_until_a_run_exists(admin_client):
    html = admin_client.get(URL).content.decode()
    assert "No measurement yet" in html
    assert "python manage.py compare" in html
    assert "make compare" in html


@pytest.fixture
def measurement_run(db):
    run = MeasurementRun.objects.create(
        finished_at=timezone.now(), environment={"cores": 2, "workers": 2}
    )
    BenchmarkResult.objects.bulk_create(
        [
            BenchmarkResult(run=run, scenario="bare", channel="baseline", requests=9000,
                            rps=1500.0, p50_ms=1.1, p99_ms=3.0, ratio=1.0, cpu_us_per_request=207),
            BenchmarkResult(run=run, scenario="api_add", channel="api", requests=4000, rps=531.7,
                            p50_ms=3.4, p99_ms=12.6, ratio=0.354, cpu_us_per_request=708),
            BenchmarkResult(run=run, scenario="web_add", channel="web", store="db", requests=2000,
                            rps=243.2, p50_ms=7.9, p99_ms=31.4, ratio=0.162,
                            cpu_us_per_request=1210, state_bytes_per_cart=187,
                            client_bytes_per_cart=61),
        ]
    )  # fmt: skip
    DrillResult.objects.bulk_create(
        [
            DrillResult(run=run, drill="store_lost", channel="web", store="cache", passed=True,
                        expected="web carts lost", observed="every web cart empty",
                        kept="0 of 20 carts", lost="20 of 20 carts"),
            DrillResult(run=run, drill="store_lost", channel="api", passed=True,
                        expected="api carts intact", kept="20 of 20 carts", lost="nothing"),
            DrillResult(run=run, drill="concurrent_adds", channel="web", store="db", passed=True,
                        expected="all 10 lines kept", observed="10 of 10 lines",
                        kept="10 lines", lost=""),
            DrillResult(run=run, drill="key_rotation", channel="api", passed=False,
                        expected="refused after removal", kept="5 of 5", lost="nothing"),
        ]
    )  # fmt: skip
    return run


def test_page_shows_the_latest_benchmarks_and_drills(admin_client, measurement_run):
    MeasurementRun.objects.create()  # unfinished: not shown
    response = admin_client.get(URL)
    html = response.content.decode()
    assert response.context["data"].run == measurement_run
    assert "No measurement yet" not in html
    assert "532 req/s" in html  # API add-to-cart throughput
    assert "0.35× bare Django" in html
    assert "708 µs CPU/request" in html
    assert "31.4" in html  # web p99
    assert 'id="drill-store_lost"' in html
    assert "20 of 20 carts" in html
    assert "✗ not as predicted" in html  # the failed drill is shown as such
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html
    assert '<title id="throughput-title">Throughput (higher is better)</title>' in html
    assert "Web add-to-cart · db" in html
    assert "every web cart empty" in html  # what the drill observed
    assert 'id="drill-concurrent_adds"' in html
    assert "a 3-line cart: 187 B on the server, 61 B with each request" in html


@pytest.mark.parametrize("count", [1, 30])
def test_page_query_count_does_not_grow_with_sessions_and_orders(
    count, client, admin_user, web_session, make_product, measurement_run, django_assert_num_queries
):
    products = [make_product(stock=1000) for _ in range(3)]
    for n in range(count):
        cart = Cart([(p.pk, 1 + n % 3) for p in products])
        web_session(cart, expired=n % 2 == 1, user_id=admin_user.pk)
        place_order(cart=cart, customer=CUSTOMER, channel="web" if n % 2 else "api")
    client.force_login(admin_user)
    # 2 (session, user) + 1 aggregate + 1 decoding pass over sessions + 2 orders GROUP BY
    # + 1 orders by day + 3 latest run (run, benchmarks, drills) + 1 latest lab runs
    # + 1 for what the stateless channel still keeps.
    with django_assert_num_queries(12):
        response = client.get(URL)
    assert response.status_code == HTTPStatus.OK


def test_every_trade_off_links_to_a_test_file_of_the_repository(settings):
    from pathlib import Path

    root = Path(settings.BASE_DIR)
    for trade_off in TRADEOFFS:
        assert trade_off.shown_by
        for path in trade_off.shown_by:
            assert (root / path).is_file(), f"{trade_off.title}: {path} does not exist"


def test_page_only_reads(admin_client, web_session, product, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    web_session(Cart([(product.pk, 1)]))
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(URL)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


def test_page_reads_top_to_bottom_rows_first_details_folded(admin_client, measurement_run):
    html = admin_client.get(URL).content.decode()
    titles = ["Session management", "Scalability", "Resilience", "Complexity", "Use cases"]
    positions = [html.index(f'-title">{title}</h3>') for title in titles]
    assert positions == sorted(positions)
    assert positions[-1] < html.index('id="details-title"')
    # Every section below the rows is folded until the reader opens it.
    for anchor in ("benchmarks", "drills", "orders", "tradeoffs", "inspector"):
        assert f'<details class="compare-details" id="{anchor}">' in html
    assert 'class="legend"' in html
    assert "Django administration" not in html


def test_run_parameters_are_written_for_people_not_as_python_reprs(admin_client, measurement_run):
    measurement_run.environment = {"stores": ["db", "signed_cookies"], "redis": False}
    measurement_run.save()
    html = admin_client.get(URL).content.decode()
    assert "<dt>session stores</dt><dd>db, signed_cookies</dd>" in html
    assert "<dt>Redis</dt><dd>no</dd>" in html
    assert "[&#x27;db&#x27;" not in html and "['db'" not in html


def test_revenue_carries_its_currency(admin_client, api_order):
    api_order(2)
    html = admin_client.get(URL).content.decode()
    assert "<strong>€48.00</strong>" in html


def test_a_drill_figure_is_never_cut_mid_text(admin_client, measurement_run):
    DrillResult.objects.filter(drill="key_rotation").update(
        details='401 with error="invalid_token", error_description="unknown_key"; then 200'
    )
    html = admin_client.get(URL).content.decode()
    assert "error_description=&quot;unknown_key&quot;; then 200" in html  # in full, in the table
    assert "error_description);" not in html


def test_throughput_axis_ends_just_above_the_highest_bar():
    assert charts.nice_axis(1125) == (1250.0, 5)
    assert charts.nice_axis(3171) == (4000.0, 4)
    assert charts.nice_axis(0) == (1.0, 4)
