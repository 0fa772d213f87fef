"""The API's content negotiation answers as DRF's does, parsing less for a script's request."""

import pytest
from django.http import Http404
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
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


def choice(negotiation, accept, query, renderer_classes=None, suffix=None):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/cart/?{query}", **headers))
    classes = StatelessMixin.renderer_classes if renderer_classes is None else renderer_classes
    renderers = [renderer() for renderer in classes]
    try:
        renderer, media_type = negotiation().select_renderer(request, renderers, suffix)
    except (exceptions.APIException, Http404) as error:
        return type(error)
    return type(renderer), media_type


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("accept", ACCEPTS)
def test_the_api_negotiates_every_accept_header_as_drf_does(accept, query):
    assert choice(JsonFirstNegotiation, accept, query) == choice(
        DefaultContentNegotiation, accept, query
    )


@pytest.mark.parametrize("suffix", ["json", "api", "xml"])
@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html"])
def test_a_format_suffix_is_negotiated_as_drf_does(accept, suffix):
    assert choice(JsonFirstNegotiation, accept, "", suffix=suffix) == choice(
        DefaultContentNegotiation, accept, "", suffix=suffix
    )


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html"])
def test_a_view_whose_first_renderer_is_not_json_is_negotiated_as_drf_does(accept):
    html_first = [BrowsableAPIRenderer, JSONRenderer]
    assert choice(JsonFirstNegotiation, accept, "", html_first) == choice(
        DefaultContentNegotiation, accept, "", html_first
    )


def test_a_scripts_request_is_answered_without_parsing_its_accept_header(monkeypatch):
    def parse(*args):
        raise AssertionError("the Accept header was parsed")

    monkeypatch.setattr(DefaultContentNegotiation, "_get_parsed_accept_list", parse)
    for accept in (None, "*/*", "application/json"):
        assert choice(JsonFirstNegotiation, accept, "")[1] == "application/json"
    with pytest.raises(AssertionError, match="parsed"):
        choice(JsonFirstNegotiation, "text/html", "")
