"""The JSON API app: checks the cart token keys at start-up."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "JSON API"

    def ready(self) -> None:
        # gunicorn does not run system checks, so a missing or weak key must stop the
        # server here, at import time, rather than at the first API request.
        from . import schema  # noqa: F401  (registers the OpenAPI security scheme)
        from .tokens import check_configuration

        check_configuration()
