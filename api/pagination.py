"""Page numbers of the API's lists: a whole number from 1, as the schema says.

DRF's PageNumberPagination takes an empty `?page=` as page 1 and `?page=last`
as the last page, and answers 404 "Invalid page." for anything else it cannot
read; the schema says `page` is an integer. Here behaviour and schema agree:
`page` is a whole number of at least 1 (400 otherwise, empty included), and a
number past the last page is 404.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination

# Longer digit strings are past any last page; never converted (no huge ints).
_MAX_DIGITS = 18


class PagePagination(PageNumberPagination):
    last_page_strings = ()

    def get_page_number(self, request, paginator) -> int:
        values = request.query_params.getlist(self.page_query_param)
        if not values:
            return 1
        raw = values[0] if len(values) == 1 else ""  # `?page=1&page=2` names no one page
        if not (raw.isascii() and raw.isdigit()) or int(raw[:_MAX_DIGITS] or "0") == 0:
            raise exceptions.ValidationError(
                {
                    self.page_query_param: [
                        exceptions.ErrorDetail(
                            "A page is a whole number of at least 1 (or leave `page` out "
                            "for the first page).",
                            code="invalid_page",
                        )
                    ]
                }
            )
        if len(raw) > _MAX_DIGITS:
            raise exceptions.NotFound("There is no such page; the list is shorter.")
        return int(raw)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = (
                    "A page number from 1 (leave it out for the first page); "
                    "400 if it is not a whole number, 404 past the last page."
                )
        return parameters
