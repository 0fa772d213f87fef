"""WSGI entry point of the bare baseline: gunicorn compare.bare.wsgi."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compare.bare.settings")

application = get_wsgi_application()
