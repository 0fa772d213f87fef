"""The API's content negotiation answers as DRF's does, parsing less for a script's request."""

import pytest
from django.http import Http404
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api.plumbing import JsonFirstNegotiation, StatelessMixin

ACCEPTS = [
    None,
    "",
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/*",
    "text/html",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "*/*;q=0.1, text/html",
    "image/png",
    "APPLICATION/JSON",
]
QUERIES = ["", "format=json", "format=api", "format=xml", "page=2"]


def choice(negotiation, accept, query):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/cart/?{query}", **headers))
    renderers = [renderer() for renderer in StatelessMixin.renderer_classes]
    try:
        renderer, media_type = negotiation().select_renderer(request, renderers)
    except (exceptions.APIException, Http404) as error:
        return type(error)
    return type(renderer), media_type


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("accept", ACCEPTS)
def test_the_api_negotiates_every_accept_header_as_drf_does(accept, query):
    assert choice(JsonFirstNegotiation, accept, query) == choice(
        DefaultContentNegotiation, accept, query
    )


def test_a_scripts_request_is_answered_without_parsing_its_accept_header(monkeypatch):
    def parse(*args):
        raise AssertionError("the Accept header was parsed")

    monkeypatch.setattr(DefaultContentNegotiation, "_get_parsed_accept_list", parse)
    for accept in (None, "*/*", "application/json"):
        assert choice(JsonFirstNegotiation, accept, "")[1] == "application/json"
    with pytest.raises(AssertionError, match="parsed"):
        choice(JsonFirstNegotiation, "text/html", "")
