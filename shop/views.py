"""Views of the web shop: pages and form posts around the session cart.

The views validate input and shape pages; the cart rules live in shop.cart,
prices in shop.pricing, ordering in shop.checkout, and the session store in
shop.session_cart.
"""

from __future__ import annotations

import functools
from contextlib import suppress
from http import HTTPStatus
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from . import stores
from .account_cart import merge_at_login, save_at_logout
from .cart import Cart, CartError, max_quantity
from .cart_rules import add_to_cart, product_name, remove_from_cart, set_in_cart
from .checkout import CartAlreadyOrdered, CheckoutError, Customer, place_order
from .forms import CheckoutForm, SignupForm, read_add_to_cart, read_quantity
from .limits import TooManyCheckouts
from .models import Category, Order, Product
from .pictures import product_svg
from .pricing import NoticeCode, PricedCart, fetch_for_pricing, price_cart
from .session_cart import change_cart, load_cart, save_cart
from .session_meter import session_state

PAGE_SIZE = 24
ORDERS_SESSION_KEY = "orders"  # ids of the orders this visitor placed, so they may see them
ORDERS_REMEMBERED = 20
CHECKOUTS_SESSION_KEY = "checkouts"  # ids of the checkout forms this session was shown
CHECKOUTS_REMEMBERED = 5
CATALOGUE_FIELDS = ("id", "slug", "name", "price", "stock", "category__name", "category__slug")


# --- Helpers -----------------------------------------------------------------------


def _safe_next(request) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _text_param(request, name: str) -> str:
    """A query-string value as text a database accepts: NUL characters dropped, trimmed."""
    return request.GET.get(name, "").replace("\x00", "").strip()


def _one(queryset):
    """The first row or None, without the ORDER BY that .first() adds (a key lookup needs none)."""
    rows = list(queryset.order_by()[:1])
    return rows[0] if rows else None


@functools.lru_cache(maxsize=16)
def _reversed(name: str, prefix: str, urlconf: str) -> str:
    return reverse(name, urlconf=urlconf)


def cart_url() -> str:
    """The cart page's URL, reversed once per script prefix and URLconf (not on every post)."""
    return _reversed("shop:cart", get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


def _back_to_cart(back: str | None = None) -> HttpResponseRedirect:
    """Redirect to `back` (a checked `next`) or to the cart page, without reversing a URL again."""
    return HttpResponseRedirect(back or cart_url())


def _clean_with(current: Cart, priced: PricedCart) -> Cart:
    """Apply pricing's removals and reductions to the cart as it is stored now."""
    stock = {line.product_id: line.stock for line in priced.lines}
    for notice in priced.notices:
        if notice.code in (NoticeCode.UNAVAILABLE, NoticeCode.SOLD_OUT):
            current = current.remove(notice.product_id)
        elif notice.code == NoticeCode.REDUCED and current.quantity(notice.product_id) > stock.get(
            notice.product_id, 0
        ):
            current = current.set(notice.product_id, stock[notice.product_id])
    return current


def _priced_session_cart(request) -> PricedCart:
    """Price the visitor's cart; when pricing cleaned it, save the cleaned cart and say why."""
    priced = price_cart(load_cart(request.session))
    if priced.changed:
        # Best effort: if the cleaned cart cannot be saved now, pricing cleans it again next time.
        with suppress(CartError):
            change_cart(request, lambda current: _clean_with(current, priced))
        for notice in priced.notices:
            messages.warning(request, notice.message)
    return priced


def _claim_session_orders(request, user) -> int:
    """Give the orders placed anonymously in this session to the account that just logged in.

    Whoever holds the session could already see those orders; from now on they are also in
    the account's history ("My orders"). Orders of another account are never moved.
    """
    ids = [i for i in request.session.get(ORDERS_SESSION_KEY, []) if isinstance(i, int)]
    if not ids:
        return 0
    return Order.objects.filter(pk__in=ids, user__isnull=True).update(user=user)


def _remember_order(session, order: Order) -> None:
    ids = [i for i in session.get(ORDERS_SESSION_KEY, []) if isinstance(i, int)]
    session[ORDERS_SESSION_KEY] = [*ids, order.pk][-ORDERS_REMEMBERED:]


def _remember_checkout(session, checkout_id: str) -> None:
    ids = [i for i in session.get(CHECKOUTS_SESSION_KEY, []) if isinstance(i, str)]
    session[CHECKOUTS_SESSION_KEY] = [*ids, checkout_id][-CHECKOUTS_REMEMBERED:]


def _placed_here(request, order: Order, checkout_id: str) -> bool:
    """Whether this visitor placed `order`: its user, or the session that was shown its form.

    A checkout id is no bearer secret: another buyer's id, sent from another session,
    shows nothing of that order.
    """
    user = request.user
    session = request.session
    return (
        (user.is_authenticated and order.user_id == user.pk)
        or order.pk in (session.get(ORDERS_SESSION_KEY) or [])
        or checkout_id in (session.get(CHECKOUTS_SESSION_KEY) or [])
    )


# --- Catalogue ---------------------------------------------------------------------


@require_safe
def catalogue(request):
    query = _text_param(request, "q")[:100]
    category_slug = _text_param(request, "category")
    categories = list(Category.objects.all())
    current = next((c for c in categories if c.slug == category_slug), None)

    products = Product.objects.active().select_related("category").only(*CATALOGUE_FIELDS)
    if query:
        products = products.filter(Q(name__icontains=query) | Q(description__icontains=query))
    if current:
        products = products.filter(category=current)
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))

    keep = {key: value for key, value in (("q", query), ("category", category_slug)) if value}
    return render(
        request,
        "shop/catalogue.html",
        {
            "page": page,
            "products": list(page.object_list),
            "categories": categories,
            "current_category": current,
            "query": query,
            "filter_query": urlencode(keep),
            "here": request.get_full_path(),
        },
    )


@require_safe
def product_detail(request, slug: str):
    product = get_object_or_404(Product.objects.active().select_related("category"), slug=slug)
    in_cart = load_cart(request.session).quantity(product.pk)
    top = min(product.stock, max_quantity())
    return render(
        request,
        "shop/product.html",
        {"product": product, "in_cart": in_cart, "max_quantity": max(top, 1)},
    )


@require_safe
@cache_control(public=True, max_age=86400)
def product_picture(request, slug: str):
    found = _one(Product.objects.active().filter(slug=slug).values_list("name", "category__slug"))
    if found is None:
        raise Http404("No such product.")
    name, category_slug = found
    return HttpResponse(
        product_svg(name=name, category_slug=category_slug, slug=slug),
        content_type="image/svg+xml",
    )


# --- Cart --------------------------------------------------------------------------


@require_safe
def cart_detail(request):
    priced = _priced_session_cart(request)
    return render(
        request,
        "shop/cart.html",
        {"priced": priced, "state": session_state(request)},
    )


def _refused(request, error: CartError) -> None:
    """The cart rules' refusal as a message; its code rides along as the message's tag."""
    messages.error(request, error.message, extra_tags=error.code)


@require_POST
def cart_add(request):
    back = _safe_next(request)
    try:
        product_id, quantity = read_add_to_cart(request.POST)
    except ValidationError as error:
        messages.error(request, error.messages[0], extra_tags="invalid")
        return _back_to_cart(back)
    # The pricing query: the add path is the hottest write path of the shop.
    products = fetch_for_pricing([product_id])
    try:
        cart = change_cart(request, lambda cart: add_to_cart(cart, product_id, quantity, products))
    except CartError as error:
        _refused(request, error)
        product = products.get(product_id)
        on_sale = product is not None and product.active
        return _back_to_cart(back or (product.get_absolute_url() if on_sale else None))
    product = products[product_id]
    messages.success(
        request,
        f"Added {quantity} × “{product.name}” to your cart "
        f"(now {cart.quantity(product.pk)} in the cart).",
    )
    return _back_to_cart(back)


def _products(product_id: int) -> dict[int, Product]:
    found = _one(Product.objects.filter(pk=product_id).only("id", "name", "stock", "active"))
    return {found.pk: found} if found else {}


@require_POST
def cart_set(request, product_id: int):
    try:
        quantity = read_quantity(request.POST, minimum=0)
    except ValidationError as error:
        messages.error(request, error.messages[0], extra_tags="invalid")
        return _back_to_cart()
    products = _products(product_id)
    try:
        change_cart(request, lambda cart: set_in_cart(cart, product_id, quantity, products))
    except CartError as error:
        _refused(request, error)
        return _back_to_cart()
    name = product_name(products.get(product_id), product_id)
    if quantity:
        messages.success(request, f"{name}: quantity set to {quantity}.")
    else:
        messages.success(request, f"Removed {name} from your cart.")
    return _back_to_cart()


@require_POST
def cart_remove(request, product_id: int):
    products = _products(product_id)
    try:
        change_cart(request, lambda cart: remove_from_cart(cart, product_id, products))
    except CartError as error:
        _refused(request, error)
    else:
        name = product_name(products.get(product_id), product_id)
        messages.success(request, f"Removed {name} from your cart.")
    return _back_to_cart()


# --- Checkout and orders -------------------------------------------------------------


def _checkout_initial(user) -> dict[str, str]:
    if not user.is_authenticated:
        return {}
    return {"name": user.get_full_name() or user.get_username(), "email": user.email}


def _checkout_page(request, form: CheckoutForm, priced: PricedCart) -> HttpResponse:
    return render(request, "shop/checkout.html", {"form": form, "priced": priced})


def _new_checkout_form(request, priced: PricedCart) -> CheckoutForm:
    """A form with a fresh checkout id, recorded in the session as shown to this visitor."""
    confirmation = CheckoutForm.confirmation(priced.total)
    # Best effort: without the record, a replay of this form is refused rather than shown.
    with suppress(CartError):
        change_cart(
            request,
            lambda current: current,
            also=lambda session: _remember_checkout(session, confirmation["checkout_id"].hex),
        )
    return CheckoutForm(initial={**_checkout_initial(request.user), **confirmation})


def _confirm_again(request, priced: PricedCart) -> CheckoutForm:
    """The posted form, bound again with the total the buyer now has to confirm."""
    data = request.POST.copy()
    data["expected_total"] = str(priced.total)
    form = CheckoutForm(data)
    form.is_valid()
    return form


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache  # Cache-Control: private, no-store: a buyer's name and address
def checkout(request):
    priced = _priced_session_cart(request)
    if not priced.cart:
        messages.error(request, "Your cart is empty; add a product before checking out.")
        return _back_to_cart()
    if request.method != "POST":
        return _checkout_page(request, _new_checkout_form(request, priced), priced)

    form = CheckoutForm(request.POST)
    if not form.is_valid():
        return _checkout_page(request, _confirm_again(request, priced), priced)
    if priced.changed:
        messages.warning(request, "Your cart changed (see above): check it and confirm again.")
        return _checkout_page(request, _confirm_again(request, priced), priced)
    customer = Customer(
        name=form.cleaned_data["name"],
        email=form.cleaned_data["email"],
        address=form.cleaned_data["address"],
    )
    try:
        order = place_order(
            cart=priced.cart,
            customer=customer,
            channel="web",
            user=request.user,
            # One order per checkout form, however often it is sent (double click, retry).
            cart_id=f"web-{form.cleaned_data['checkout_id']}",
            expected_total=form.cleaned_data["expected_total"],
            address=request.META.get("REMOTE_ADDR", ""),
        )
    except CartAlreadyOrdered as already:
        order = already.order
        if not _placed_here(request, order, form.cleaned_data["checkout_id"]):
            messages.error(
                request, "This checkout form was already used; nothing was ordered. Confirm again."
            )
            return _checkout_page(request, _new_checkout_form(request, priced), priced)
        # The same form arrived again (a double click, a retry, a replayed cookie) from the
        # visitor it was shown to: show the first order instead of placing a second one.
        messages.info(request, f"This checkout was already placed as order #{order.pk}.")
    except CheckoutError as error:
        messages.error(request, f"{error.message} Your cart was kept; nothing was charged.")
        priced = price_cart(load_cart(request.session))
        page = _checkout_page(request, _confirm_again(request, priced), priced)
        if isinstance(error, TooManyCheckouts):
            page.status_code = HTTPStatus.TOO_MANY_REQUESTS
            page["Retry-After"] = str(error.retry_after)
        return page
    else:
        messages.success(request, f"Thank you! Your order #{order.pk} is placed.")
    _finish_checkout(request, order, ordered=priced.cart)
    return redirect("shop:order", order_id=order.pk)


def _finish_checkout(request, order: Order, *, ordered: Cart) -> None:
    """Empty the ordered lines and record the order id, in one guarded write."""
    try:
        change_cart(
            request,
            lambda current: _without(current, ordered),
            also=lambda session: _remember_order(session, order),
        )
    except CartError:
        messages.warning(request, "Your cart could not be emptied just now; please empty it.")
        _remember_order(request.session, order)


def _without(current: Cart, ordered: Cart) -> Cart:
    """What another tab added while this checkout ran stays in the cart; the rest was ordered."""
    for product_id, _quantity in ordered:
        current = current.remove(product_id)
    return current


@require_safe
@never_cache
def order_detail(request, order_id: int):
    order = get_object_or_404(Order.objects.prefetch_related("lines"), pk=order_id)
    user = request.user
    is_buyer = (user.is_authenticated and order.user_id == user.pk) or order.pk in (
        request.session.get(ORDERS_SESSION_KEY) or []
    )
    if not is_buyer:
        raise Http404("No such order.")
    return render(request, "shop/order_detail.html", {"order": order})


@require_safe
@never_cache
@login_required
def order_history(request):
    orders = request.user.orders.prefetch_related("lines")
    page = Paginator(orders, 20).get_page(request.GET.get("page"))
    return render(request, "shop/order_history.html", {"page": page})


# --- Accounts -----------------------------------------------------------------------


def _say_claimed(request, count: int) -> None:
    if count:
        orders = "order you placed is" if count == 1 else f"{count} orders you placed are"
        messages.info(request, f"The {orders} now in My orders.")


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_success_url(self) -> str:
        # ?next= pointing back at this page would loop for a logged-in visitor.
        url = super().get_success_url()
        return reverse("shop:catalogue") if url == self.request.path else url

    def form_valid(self, form):
        user = form.get_user()
        held = load_cart(self.request.session)
        merged = merge_at_login(user_id=user.pk, cart=held)
        if merged.cart != held:
            save_cart(self.request.session, merged.cart)
        response = super().form_valid(form)
        messages.success(self.request, f"Welcome back, {user.get_short_name() or user}.")
        _say_claimed(self.request, _claim_session_orders(self.request, user))
        count = merged.cart.item_count
        if merged.saved_lines:
            messages.info(
                self.request,
                f"The cart you left in your account was merged into this one: "
                f"{count} item{'s' if count != 1 else ''} now.",
            )
        elif count:
            messages.info(
                self.request,
                f"Your cart ({count} item{'s' if count != 1 else ''}) came with you: "
                "you have a new session key, with the same cart in it.",
            )
        for message in merged.messages:
            messages.warning(self.request, message)
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            save_at_logout(user_id=request.user.pk, cart=load_cart(request.session))
        response = super().post(request, *args, **kwargs)
        messages.info(request, f"You are logged out. {stores.current().logout}")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, with the shop's email templates. The answer is the same whether
    or not an account has the address, so the form does not tell who has an account."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    extra_email_context = {"shop_name": settings.SHOP_NAME}


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("shop:catalogue")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}! Your account is ready.")
        _say_claimed(request, _claim_session_orders(request, user))
        return redirect(_safe_next(request) or reverse("shop:catalogue"))
    return render(request, "registration/signup.html", {"form": form, "next": _safe_next(request)})
