from django.apps import AppConfig


class BareConfig(AppConfig):
    name = "compare.bare"
    label = "bare"
