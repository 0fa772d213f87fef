"""The API's content negotiation: API clients get JSON without parsing; the rest is DRF's."""

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api.plumbing import JsonFirstNegotiation, StatelessMixin

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "text/html",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "application/xml",
]


def chosen(negotiation, accept, query=""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/cart/{query}", **headers))
    renderers = [renderer() for renderer in StatelessMixin.renderer_classes]
    try:
        renderer, media_type = negotiation().select_renderer(request, renderers)
    except Exception as error:  # the refusal itself is compared
        return type(error).__name__
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("query", ["", "?format=api", "?format=json"])
@pytest.mark.parametrize("accept", ACCEPTS)
def test_the_api_chooses_the_renderer_drf_would_choose(accept, query):
    assert chosen(JsonFirstNegotiation, accept, query) == chosen(
        DefaultContentNegotiation, accept, query
    )


@pytest.mark.django_db
def test_an_api_client_gets_json_and_a_browser_the_browsable_api(client):
    assert client.get("/api/products/").headers["Content-Type"] == "application/json"
    page = client.get("/api/products/", HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert page.headers["Content-Type"].startswith("text/html")
