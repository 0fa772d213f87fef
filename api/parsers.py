"""The API's JSON parser: DRF's, with a body nested too deeply refused as a parse error."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser that answers 400 `parse_error` for a body nested too deeply.

    Python's json decoder recurses once per nesting level and raises RecursionError
    (not ValueError) past the interpreter's limit, about a thousand levels; DRF's
    parser only catches ValueError, so without this the request ended in a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError(
                "JSON parse error - the body is nested too deeply; send a flat JSON object."
            ) from exc
