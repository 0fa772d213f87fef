"""axe-core in a real browser: no violations on any shop page, the comparison page and the
side-by-side page (when the project has one), at a laptop's width and a phone's.

axe-core comes with the axe-playwright-python package (its axe.min.js is injected into
each page); nothing is fetched from outside.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.urls import Resolver404, resolve

from compare.models import BenchmarkResult, DrillResult, MeasurementRun
from shop.cart import Cart
from shop.checkout import Customer, place_order
from shop.models import Order, Product

PASSWORD = "axe-test-password-17"
WIDTHS = {"laptop": (1280, 900), "phone": (390, 844)}
AXE = Axe()


def describe(violations) -> str:
    lines = []
    for violation in violations:
        targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return "\n".join(lines)


def route_exists(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


@pytest.fixture
def shop(transactional_db, django_user_model):
    call_command("seed_demo", verbosity=0)
    django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    shopper = django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    product = Product.objects.order_by("pk").first()
    order = place_order(
        cart=Cart([(product.pk, 2)]),
        customer=Customer(name="Ada Lovelace", email="ada@example.com", address="1 Analytical St"),
        channel="web",
        user=shopper,
    )
    record_a_measurement()
    return product, order


def record_a_measurement() -> None:
    """What a run of manage.py compare leaves for the comparison page to show (its figures
    are beside the point here: the page's markup around them is what axe reads)."""
    run = MeasurementRun.objects.create(environment={"cpus": 2, "stores": ["db", "redis"]})
    run.finished_at = run.started_at
    run.save()
    for scenario, channel, store, rps, ratio in (
        ("bare", "baseline", "", 3000.0, 1.0),
        ("api_add", "api", "", 1100.0, 0.37),
        ("web_add", "web", "db", 520.0, 0.17),
    ):
        BenchmarkResult.objects.create(
            run=run, scenario=scenario, channel=channel, store=store, requests=int(rps * 10),
            rps=rps, p50_ms=8.0, p99_ms=30.0, ratio=ratio, cpu_us_per_request=1000.0,
        )  # fmt: skip
    for drill, channel, store, passed, lost in (
        ("store_lost", "web", "redis", True, "3 lines"),
        ("store_lost", "api", "", True, "nothing"),
        ("key_rotation", "api", "", False, "nothing"),
    ):
        DrillResult.objects.create(
            run=run, drill=drill, channel=channel, store=store, passed=passed,
            expected="as designed", observed="as observed", kept="3 lines", lost=lost,
            details='answered 401 with error_description="unknown_key"; then 200',
        )  # fmt: skip


def check(page, path: str, problems: list[str], *, open_details: bool = False) -> None:
    if path:
        page.goto(path)
    if open_details:
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    violations = AXE.run(page).response["violations"]
    if violations:
        problems.append(f"{path or page.url}:\n{describe(violations)}")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        problems.append(f"{path or page.url}: {overflow} px wider than the window")


def log_in(page, username: str, url: str = "/accounts/login/") -> None:
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form [type=submit]").last.click()
    page.wait_for_load_state()


@pytest.mark.parametrize("width", WIDTHS)
def test_no_axe_violations_on_any_page(browser, live_server, shop, width):
    product, order = shop
    w, h = WIDTHS[width]
    context = browser.new_context(base_url=live_server.url, viewport={"width": w, "height": h})
    context.set_default_timeout(20_000)
    page = context.new_page()
    problems: list[str] = []
    try:
        # A visitor: the catalogue, a search, a category, a product, an empty cart, accounts.
        for path in (
            "/",
            "/?q=tea",
            "/?q=no-such-thing",
            "/?category=books",
            "/?page=2",
            product.get_absolute_url(),
            "/cart/",
            "/accounts/login/",
            "/accounts/signup/",
            "/accounts/password-reset/",
            "/accounts/password-reset/sent/",
            "/accounts/reset/MQ/not-a-token/",
            "/accounts/reset/done/",
            "/no-such-page/",
        ):
            check(page, path, problems)
        # Failed submits: the error summary and the fields it links to.
        page.goto("/accounts/signup/")
        page.locator("form.form [type=submit]").click()
        page.wait_for_load_state()
        check(page, "", problems)
        # A cart, the checkout, a failed checkout and an order.
        page.goto(product.get_absolute_url())
        page.get_by_role("button", name="Add to cart").click()
        page.wait_for_url("**/cart/")
        check(page, "", problems)
        check(page, "/checkout/", problems)
        page.get_by_role("button", name="Place order").click()
        page.wait_for_load_state()
        check(page, "", problems)
        # Logged in: the order history and the order page.
        log_in(page, "ada")
        check(page, "/accounts/orders/", problems)
        check(page, f"/orders/{order.pk}/", problems)
        # The admin's comparison page (every detail opened) and the side-by-side page.
        context.clear_cookies()
        log_in(page, "staff", "/admin/login/?next=/admin/")
        check(page, "/admin/compare/", problems, open_details=True)
        if route_exists("/side-by-side/"):
            check(page, "/side-by-side/", problems, open_details=True)
    finally:
        context.close()
    assert Order.objects.filter(user__username="ada").exists()
    assert not problems, "\n\n".join(problems)
