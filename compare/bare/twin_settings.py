"""Settings of the minimal twins: the shop's own database, cache and session store, little else.

The twins (`compare/bare/twins.py`) are the honest floor of each design: they
use the same database, Redis and session engine as the shop (read from the
shop's settings, so from the same environment variables), with only the
middleware that a cookie-session form needs (sessions and CSRF) and no other app.
"""

from config import settings as shop

SECRET_KEY = shop.SECRET_KEY
DEBUG = False
ALLOWED_HOSTS = shop.ALLOWED_HOSTS
ROOT_URLCONF = "compare.bare.urls"
WSGI_APPLICATION = "compare.bare.wsgi.application"
INSTALLED_APPS = ["django.contrib.sessions", "compare.bare"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
DATABASES = shop.DATABASES
CACHES = shop.CACHES
SESSION_ENGINE = shop.SESSION_ENGINE
SESSION_COOKIE_AGE = shop.SESSION_COOKIE_AGE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CART_TOKEN_KEYS = shop.CART_TOKEN_KEYS
CART_TOKEN_TTL = shop.CART_TOKEN_TTL
USE_TZ = True
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
