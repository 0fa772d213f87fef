"""Small HTTP clients for the drills: a browser-like web visitor and an API script."""

from __future__ import annotations

import html
from dataclasses import dataclass

import jwt
import requests

TIMEOUT = 10


@dataclass(frozen=True)
class Product:
    id: int
    slug: str
    name: str


class WebVisitor:
    """One cookie jar (session and CSRF cookies) that can talk to several instances in turn."""

    def __init__(
        self,
        base_url: str,
        *,
        jar=None,
        add_path: str = "/cart/add/",
        csrf_path: str = "",
    ) -> None:
        self.base_url = base_url
        self.add_path = add_path
        self.csrf_path = csrf_path  # a page that sets the CSRF cookie; default a product page
        self.http = requests.Session()
        if jar is not None:
            self.http.cookies = jar
        self.statuses: list[int] = []

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        answer = self.http.request(method, self.base_url + path, timeout=TIMEOUT, **kwargs)
        self.statuses.append(answer.status_code)
        return answer

    def get(self, path: str) -> requests.Response:
        return self._request("GET", path)

    def csrf(self, product: Product) -> str:
        token = self.http.cookies.get("csrftoken")
        if not token:
            self._request("GET", self.csrf_path or f"/products/{product.slug}/")
            token = self.http.cookies.get("csrftoken", "")
        return token

    def add(self, product: Product, quantity: int = 1) -> int:
        token = self.csrf(product)
        answer = self._request(
            "POST",
            self.add_path,
            data={"product_id": product.id, "quantity": quantity, "csrfmiddlewaretoken": token},
            headers={"X-CSRFToken": token},
            allow_redirects=False,
        )
        return answer.status_code

    def cart(self, products: list[Product]) -> tuple[int, list[Product]]:
        """The cart page's status and which of `products` it shows."""
        answer = self._request("GET", "/cart/")
        page = answer.text
        return answer.status_code, [p for p in products if html.escape(p.name) in page]

    def twin_cart(self) -> set[int]:
        """The product ids of the minimal twin's cart (compare/bare/twins.py)."""
        answer = self._request("GET", "/twin/cart/")
        return {pid for pid, _ in answer.json()["cart"]} if answer.ok else set()

    def session_key(self) -> str:
        return self.http.cookies.get("sessionid", "")

    @property
    def server_errors(self) -> list[int]:
        return [status for status in self.statuses if status >= 500]


class ApiScript:
    """An API client: no cookies, the cart in the token it keeps."""

    def __init__(self, base_url: str, *, add_path: str = "/api/cart/items/") -> None:
        self.base_url = base_url
        self.add_path = add_path
        self.token = ""
        self.statuses: list[int] = []
        self.last: requests.Response | None = None

    def _request(self, method: str, path: str, *, token: str | None = None, body=None):
        token = self.token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = requests.request(
            method, self.base_url + path, json=body, headers=headers, timeout=TIMEOUT
        )
        self.statuses.append(answer.status_code)
        self.last = answer
        if answer.ok:
            self.token = answer.json().get("token", self.token)
        return answer

    def new_cart(self) -> int:
        return self._request("POST", "/api/cart/", token="").status_code

    def add(self, product: Product, quantity: int = 1) -> int:
        body = {"product_id": product.id, "quantity": quantity}
        return self._request("POST", self.add_path, body=body).status_code

    def checkout(self, customer: dict[str, str]) -> int:
        return self._request("POST", "/api/checkout/", body=customer).status_code

    def cart(self, products: list[Product], *, token: str | None = None):
        """Status and which of `products` the token's cart holds."""
        answer = self._request("GET", "/api/cart/", token=token)
        if not answer.ok:
            return answer.status_code, []
        ids = {item["product_id"] for item in answer.json()["cart"]["items"]}
        return answer.status_code, [p for p in products if p.id in ids]

    @property
    def server_errors(self) -> list[int]:
        return [status for status in self.statuses if status >= 500]


def token_kid(token: str) -> str:
    """The `kid` of a JWT's header (read without verifying: for reports only)."""
    return jwt.get_unverified_header(token).get("kid", "")
