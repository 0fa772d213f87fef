"""What people meet: linked errors and help, focus after a failed submit, autocomplete,
order confirmation emails from both channels, password reset, and the small things."""

import logging
import re
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command

from shop.emails import send_order_confirmation
from shop.models import Order
from tests.helpers import checkout_fields

pytestmark = pytest.mark.django_db

CUSTOMER = {"name": "Ada Lovelace", "email": "ada@example.com", "address": "1 Analytical St"}
PASSWORD = "a-long-enough-pass-42"


def ids_in(html: str) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', html))


def described_by(html: str) -> set[str]:
    return {ref for refs in re.findall(r'aria-describedby="([^"]+)"', html) for ref in refs.split()}


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(
        username="ada", password=PASSWORD, email="ada@example.com", first_name="Ada"
    )


# --- Accessibility of the forms -------------------------------------------------------


def test_every_aria_describedby_of_a_failed_checkout_names_an_element(client, product):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    html = client.post("/checkout/", {"name": "", "email": "nope", "address": ""}).content.decode()
    refs = described_by(html)
    assert {"id_name_error", "id_email_error", "id_address_error"} <= refs
    assert refs <= ids_in(html)


def test_every_aria_describedby_of_signup_names_an_element(client):
    html = client.get("/accounts/signup/").content.decode()
    assert "id_username_helptext" in described_by(html)
    assert described_by(html) <= ids_in(html)
    failed = client.post("/accounts/signup/", {"username": "", "email": "x"}).content.decode()
    assert "id_email_error" in described_by(failed)
    assert described_by(failed) <= ids_in(failed)


def test_a_failed_submit_puts_focus_on_an_error_summary_linking_each_field(client, product):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    html = client.post("/checkout/", {"name": "", "email": "nope", "address": ""}).content.decode()
    summary = html[html.index('class="error-summary"') :]
    summary = summary[: summary.index("</div>")]
    assert "autofocus" in summary
    assert 'role="alert"' in summary
    assert '<a href="#id_name">' in summary
    assert '<a href="#id_email">' in summary
    # The summary comes before any field that asks for focus itself.
    assert html.index("error-summary") < html.index('id="id_name"')


def test_a_page_without_errors_has_no_error_summary(client, product):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert "error-summary" not in client.get("/checkout/").content.decode()


def test_checkout_fields_carry_autocomplete(client, product):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    html = client.get("/checkout/").content.decode()
    assert re.search(r'<input[^>]*autocomplete="name"[^>]*id="id_name"', html)
    assert 'autocomplete="email"' in html
    assert 'autocomplete="street-address"' in html


def test_catalogue_h1_comes_before_any_other_heading(client, product):
    html = client.get("/").content.decode()
    assert html.index("<h1") < html.index("<h2")


def test_search_results_are_titled_as_search_results(client, product):
    html = client.get("/", {"q": "espresso"}).content.decode()
    assert "<h1>Search results for “espresso”</h1>" in html
    assert "<h1>All products</h1>" not in html


def test_cart_quantity_input_has_a_max_of_the_stock_within_the_cart_limit(client, make_product):
    few = make_product(stock=7)
    many = make_product(stock=500)
    client.post("/cart/add/", {"product_id": few.pk, "quantity": 1})
    client.post("/cart/add/", {"product_id": many.pk, "quantity": 1})
    html = client.get("/cart/").content.decode()
    assert f'id="qty-{few.pk}" type="number" name="quantity" value="1" min="0" max="7"' in html
    assert f'id="qty-{many.pk}" type="number" name="quantity" value="1" min="0" max="99"' in html


# --- Order confirmation email ----------------------------------------------------------


def test_a_web_checkout_emails_a_confirmation(client, product, django_capture_on_commit_callbacks):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/checkout/", {**checkout_fields(client), **CUSTOMER})
    assert response.status_code == HTTPStatus.FOUND
    order = Order.objects.get()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert message.subject == f"Your Corner Shop order #{order.pk}"
    assert "2 × Espresso Blend 1 kg" in message.body
    assert "Total: €48.00" in message.body
    assert "1 Analytical St" in message.body
    assert "Web shop (session)" in message.body


def test_an_api_checkout_emails_a_confirmation(api, product, django_capture_on_commit_callbacks):
    api.post("/api/cart/items/", {"product_id": product.pk, "quantity": 1})
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/checkout/", CUSTOMER)
    assert response.status_code == HTTPStatus.CREATED
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert "JSON API (token)" in mail.outbox[0].body
    assert "Total: €24.00" in mail.outbox[0].body


def test_a_checkout_sent_twice_emails_once(client, product, django_capture_on_commit_callbacks):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    fields = {**checkout_fields(client), **CUSTOMER}
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/checkout/", fields)
        client.post("/checkout/", fields)
    assert Order.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_refused_checkout_emails_nothing(client, product, django_capture_on_commit_callbacks):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 3})
    fields = {**checkout_fields(client), **CUSTOMER}
    product.stock = 1
    product.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/checkout/", fields)
    assert not Order.objects.exists()
    assert mail.outbox == []


def test_a_failing_mail_server_does_not_fail_the_order(
    client, product, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = 9  # discard: nothing listens, the connection is refused
    settings.EMAIL_TIMEOUT = 2
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/checkout/", {**checkout_fields(client), **CUSTOMER})
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.pk}/"
    assert f"Could not send the confirmation of order #{order.pk}" in caplog.text


def test_the_file_backend_writes_the_confirmation_to_email_file_path(
    client, product, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/checkout/", {**checkout_fields(client), **CUSTOMER})
    written = [path.read_text() for path in tmp_path.iterdir()]
    assert len(written) == 1
    assert "Subject: Your Corner Shop order #" in written[0]


def test_send_order_confirmation_reports_success(client, product, settings):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    client.post("/checkout/", {**checkout_fields(client), **CUSTOMER})
    assert send_order_confirmation(Order.objects.get()) is True
    assert len(mail.outbox) == 1


# --- Password reset -------------------------------------------------------------------


def test_password_reset_emails_a_link_that_sets_a_new_password(client, user):
    response = client.post("/accounts/password-reset/", {"email": "ada@example.com"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Reset your Corner Shop password"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == HTTPStatus.OK
    new = "another-long-pass-77"
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new, "new_password2": new},
    )
    assert done["Location"] == "/accounts/reset/done/"
    user.refresh_from_db()
    assert user.check_password(new)


def test_password_reset_for_an_unknown_address_says_the_same_and_sends_nothing(client, user):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_a_used_or_forged_reset_link_is_explained(client, user):
    response = client.get("/accounts/reset/MQ/forged-token/", follow=True)
    assert response.status_code == HTTPStatus.OK
    assert "This link does not work any more" in response.content.decode()


def test_login_page_offers_password_reset(client):
    assert 'href="/accounts/password-reset/"' in client.get("/accounts/login/").content.decode()


# --- Small things ---------------------------------------------------------------------


def test_an_order_placed_before_signing_up_is_in_the_new_accounts_orders(client, product):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    client.post("/checkout/", {**checkout_fields(client), **CUSTOMER})
    order = Order.objects.get()
    client.post(
        "/accounts/signup/",
        {
            "username": "grace",
            "email": "grace@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    order.refresh_from_db()
    assert order.user.username == "grace"
    assert f"/orders/{order.pk}/" in client.get("/accounts/orders/").content.decode()


def test_an_order_placed_before_logging_in_is_in_that_accounts_orders(client, product, user):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    client.post("/checkout/", {**checkout_fields(client), **CUSTOMER})
    client.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    assert Order.objects.get().user == user


def test_logging_in_never_takes_another_accounts_order(client, product, user):
    other = get_user_model().objects.create_user(username="bob", password=PASSWORD)
    client.force_login(other)
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    client.post("/checkout/", {**checkout_fields(client), **CUSTOMER})
    order = Order.objects.get()
    client.logout()
    session = client.session
    session["orders"] = [order.pk]  # whatever the session says, bob's order stays bob's
    session.save()
    client.post("/accounts/login/", {"username": "ada", "password": PASSWORD})
    order.refresh_from_db()
    assert order.user == other


def test_favicon_ico_is_served_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == HTTPStatus.OK
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"


def test_a_server_error_page_exists_and_needs_no_context(client):
    from django.template.loader import get_template

    html = get_template("500.html").render()
    assert "Something went wrong on our side" in html


def test_the_admin_header_names_the_shop(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert "Corner Shop admin" in html
    assert "Django administration" not in html


def test_ensure_demo_admin_run_again_points_at_changepassword(db, capsys):
    call_command("ensure_demo_admin")
    call_command("ensure_demo_admin")
    assert "python manage.py changepassword admin" in capsys.readouterr().out


def test_a_django_warning_is_printed_once_with_debug_on(settings, monkeypatch):
    from django.utils.log import configure_logging

    printed = []
    settings.DEBUG = True  # Django's own console handler prints only with DEBUG on
    monkeypatch.setattr(logging.StreamHandler, "emit", lambda self, record: printed.append(record))
    try:
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
        logging.getLogger("django.request").warning("one warning")
    finally:
        monkeypatch.undo()
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    assert [record.getMessage() for record in printed] == ["one warning"]
