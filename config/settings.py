"""Settings for the shop, read from environment variables with safe local defaults.

Every variable is listed in the README. On one machine nothing needs setting;
in production set at least DJANGO_DEBUG=0, DJANGO_SECRET_KEY,
DJANGO_ALLOWED_HOSTS, CART_TOKEN_KEYS and, behind HTTPS, DJANGO_SECURE=1.
https://docs.djangoproject.com/en/stable/howto/deployment/checklist/
"""

import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
import django
from django.core.exceptions import ImproperlyConfigured

from shop.stores import DEFAULT_STORE, STORES

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", default=True)


def dev_secret_key(path: Path) -> str:
    """A development key made once per checkout and kept in a git-ignored file.

    Random rather than written in the code, so that nobody can forge this
    laptop's sessions or (derived from it) its cart tokens. Refused in production.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = "django-insecure-dev-" + secrets.token_urlsafe(50)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}")
        draft.write_text(key)
        draft.chmod(0o600)
        try:
            os.link(draft, path)  # appears whole or not at all; never overwrites
        finally:
            draft.unlink()
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    except OSError:  # a read-only checkout: a key for this process only
        pass
    return key


# Django's own bar for a secret key (check --deploy warns below it), and a higher one for
# distinct characters: a key that signs sessions must not be guessable.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_DISTINCT = 16
MAKE_A_KEY = "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def weak_secret_key(key: str) -> str | None:
    """Why `key` is too weak to sign sessions and CSRF tokens in production, or None."""
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"it has {len(key)} characters, fewer than {SECRET_KEY_MIN_LENGTH}"
    if len(set(key)) < SECRET_KEY_MIN_DISTINCT:
        return f"it has {len(set(key))} distinct characters, fewer than {SECRET_KEY_MIN_DISTINCT}"
    if key.startswith("django-insecure"):
        return "it starts with 'django-insecure', the mark of a development key"
    return None


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not DEBUG:
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off; the built-in key is for "
            f"local development only. {MAKE_A_KEY}"
        )
    # Signed-cookie sessions, CSRF tokens and password reset links trust this key alone.
    if why := weak_secret_key(SECRET_KEY):
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is too weak to run with DJANGO_DEBUG off: {why}. {MAKE_A_KEY}"
        )
elif not SECRET_KEY:
    SECRET_KEY = dev_secret_key(BASE_DIR / "var" / "dev-secret-key")
# Older (or not yet used) keys that still verify signatures (sessions, signed cookies) but
# never sign: the way to roll DJANGO_SECRET_KEY across a fleet, as the README describes.
# https://docs.djangoproject.com/en/stable/ref/settings/#secret-key-fallbacks
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", "")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "shop",
    "api",
    "compare",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Server-Timing on every answer (db, session store, token); SERVER_TIMING=0 turns it off.
    "shop.server_timing.ServerTimingMiddleware",
    # X-Reveal-Answer: 1 describes a web answer in JSON for the /side-by-side/ page's script.
    "shop.reveal.RevealAnswerMiddleware",
    # Before SessionMiddleware: /api/ requests never see a cookie, answers never set one.
    "api.middleware.ApiWithoutCookiesMiddleware",
    # Django's session, login and messages middleware; an /api/ request passes them untouched.
    "api.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "api.middleware.AuthenticationMiddleware",
    "api.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Django 6.0+ sends SECURE_CSP itself; on 5.2 shop.headers sends the same header.
    (
        "django.middleware.csp.ContentSecurityPolicyMiddleware"
        if django.VERSION >= (6, 0)
        else "shop.headers.ContentSecurityPolicyMiddleware"
    ),
    # Last: turns a login refused by the throttle into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.cart_summary",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# https://github.com/jazzband/dj-database-url

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        # A SELECT 1 before a kept connection is reused: survives a database restart, costs
        # one round trip per request (about 150 µs on PostgreSQL here).
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", default=True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at
    # the start of a transaction, so concurrent checkouts wait instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions -----------------------------------------------------
# https://docs.djangoproject.com/en/stable/topics/http/sessions/#configuring-the-session-engine

REDIS_URL = os.environ.get("REDIS_URL", "")
# Redis behind Sentinel: REDIS_SENTINELS="host:port,host:port,..." and REDIS_URL names
# the Sentinel service as its host (redis://SERVICE/DB). Every read and write goes to
# the current primary: a session read from a lagging replica would lose cart changes.
# https://github.com/jazzband/django-redis (README: Sentinel)
REDIS_SENTINELS = [
    (host.strip(), int(port))
    for host, _, port in (
        entry.rpartition(":") for entry in os.environ.get("REDIS_SENTINELS", "").split(",")
    )
    if host.strip()
]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "shop"),
        }
    }
    if REDIS_SENTINELS:
        CACHES["default"]["OPTIONS"] = {
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "SENTINELS": REDIS_SENTINELS,
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
        }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The order limits (shop.limits) count in a store that every process shares: Redis when
# there is one, otherwise a database table (made by shop's migration 0003).
CACHES["limits"] = (
    {**CACHES["default"], "KEY_PREFIX": CACHES["default"]["KEY_PREFIX"] + ":limits"}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "shop_limits_cache",
    }
)

# SESSION_STORE names one row of shop/stores.py; Django's SESSION_ENGINE is that row's
# engine, and every description of the store in use is read from the row of that engine.
_session_store = os.environ.get("SESSION_STORE", DEFAULT_STORE).strip() or DEFAULT_STORE
if _session_store not in STORES:
    raise ImproperlyConfigured(
        f"SESSION_STORE={_session_store!r} is not one of: {', '.join(STORES)}"
    )
SESSION_ENGINE = STORES[_session_store].engine
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)
SESSION_COOKIE_HTTPONLY = True
# signed_cookies: browsers drop a cookie past 4096 bytes (name + value), so a cart
# change that would grow the session cookie past this is refused with a message.
SESSION_COOKIE_MAX_BYTES = env_int("SESSION_COOKIE_MAX_BYTES", 4096)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- The cart ---------------------------------------------------------------

CART_MAX_LINES = env_int("CART_MAX_LINES", 50)
CART_MAX_QUANTITY = env_int("CART_MAX_QUANTITY", 99)

# Limits against inventory denial, both channels (shop.limits).
CHECKOUT_WINDOW = env_int("CHECKOUT_WINDOW", 3600)
CHECKOUTS_PER_ADDRESS = env_int("CHECKOUTS_PER_ADDRESS", 10)
CHECKOUTS_PER_ACCOUNT = env_int("CHECKOUTS_PER_ACCOUNT", 10)
ORDER_MAX_UNITS = env_int("ORDER_MAX_UNITS", 10)
ANONYMOUS_ORDER_MAX_TOTAL = Decimal(os.environ.get("ANONYMOUS_ORDER_MAX_TOTAL", "") or "500.00")

# Cart tokens of the API: "kid:secret" pairs, comma separated; the first signs,
# every one verifies. Empty with DEBUG on: a key derived from SECRET_KEY.
CART_TOKEN_KEYS = os.environ.get("CART_TOKEN_KEYS", "")
# Pairs that verify and never sign: a fleet learns a new key here before any instance signs.
CART_TOKEN_VERIFY_KEYS = os.environ.get("CART_TOKEN_VERIFY_KEYS", "")
# How a token is ended before its exp: none, denylist, user-version or short-ttl
# (README, "Ending a token"). Logged-in tokens are always checked against the
# account (password, active, login version), whatever the mode.
CART_TOKEN_REVOCATION_MODES = ("none", "denylist", "user-version", "short-ttl")
CART_TOKEN_REVOCATION = os.environ.get("CART_TOKEN_REVOCATION", "none").strip() or "none"
if CART_TOKEN_REVOCATION not in CART_TOKEN_REVOCATION_MODES:
    raise ImproperlyConfigured(
        f"CART_TOKEN_REVOCATION={CART_TOKEN_REVOCATION!r} is not one of: "
        + ", ".join(CART_TOKEN_REVOCATION_MODES)
    )
# short-ttl: tokens live 5 minutes after the last answer unless CART_TOKEN_TTL says otherwise.
_SHORT_TTL = CART_TOKEN_REVOCATION == "short-ttl"  # noqa: S105 (a mode name, not a secret)
_DEFAULT_TTL = 300 if _SHORT_TTL else 7 * 24 * 3600
CART_TOKEN_TTL = env_int("CART_TOKEN_TTL", _DEFAULT_TTL)
CART_TOKEN_MAX_AGE = env_int("CART_TOKEN_MAX_AGE", 30 * 24 * 3600)
CART_TOKEN_MAX_BYTES = env_int("CART_TOKEN_MAX_BYTES", 4096)
# Seconds of clock skew between instances forgiven on a token's iat/nbf/exp.
CART_TOKEN_LEEWAY = env_int("CART_TOKEN_LEEWAY", 30)
# The login a token carries lasts this long from the password check (`auth_time`),
# however often the token is re-issued.
CART_LOGIN_MAX_AGE = env_int("CART_LOGIN_MAX_AGE", 24 * 3600)
# At login, an account's saved cart older than this is set aside, not merged.
CART_ACCOUNT_CART_MAX_AGE = env_int("CART_ACCOUNT_CART_MAX_AGE", 30 * 24 * 3600)

# --- API --------------------------------------------------------------------
# https://www.django-rest-framework.org/api-guide/settings/

REST_FRAMEWORK = {
    # The API is stateless: no session authentication, so no CSRF and no session reads.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API (stateless: the cart travels in a signed token)",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Examples Swagger UI can send as they are (api/schema.py), after the enum hook.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_examples",
        "api.schema.document_request_line_limit",
    ],
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "displayRequestDuration": True},
}

# Server-Timing header on every answer: db time and queries, session store, tokens.
SERVER_TIMING = env_bool("SERVER_TIMING", default=True)

# --- Auth -------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# The login throttle (django-axes) comes first: a locked-out account or address is refused
# before its password is checked. https://django-axes.readthedocs.io/
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Every login (web, admin, API): LOGIN_FAILURE_LIMIT failures in a row for one account,
# or from one client address, lock that account or address for LOGIN_LOCKOUT seconds.
# Counted in the database, which every process shares; REMOTE_ADDR is the address.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("LOGIN_LOCKOUT", 15 * 60))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "shop.login_throttle.lockout_response"
AXES_VERBOSE = False
LOGIN_REDIRECT_URL = "shop:catalogue"
LOGOUT_REDIRECT_URL = "shop:catalogue"

# --- Email -------------------------------------------------------------------
# https://docs.djangoproject.com/en/stable/topics/email/
# Order confirmations and password resets. The console backend prints each message
# on the server's output; EMAIL_BACKEND=file (with EMAIL_FILE_PATH) or smtp (with
# EMAIL_HOST and the rest) sends them elsewhere. A full dotted path works too.

SHOP_NAME = "Corner Shop"
EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
_email_backend = os.environ.get("EMAIL_BACKEND", "").strip() or "console"
EMAIL_BACKEND = EMAIL_BACKENDS.get(_email_backend, _email_backend)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", "").strip() or str(BASE_DIR / "var" / "email")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Corner Shop <shop@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation -----------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (served by WhiteNoise, also with DEBUG off) -----------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Files served at the site's root: /favicon.ico, which browsers ask for on pages
# that name no icon (the admin, DRF's browsable API).
WHITENOISE_ROOT = BASE_DIR / "public"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- HTTPS (DJANGO_SECURE=1 when served over HTTPS) ----------------------------
# https://docs.djangoproject.com/en/stable/ref/middleware/#http-strict-transport-security

SECURE = env_bool("DJANGO_SECURE", default=False)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000) if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
if env_bool("DJANGO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# --- Content-Security-Policy ----------------------------------------------------
# https://docs.djangoproject.com/en/dev/ref/csp/ (Django 6.0+; shop.headers on 5.2)
# Everything comes from the shop itself: no inline or remote script, no plugin, no
# framing. Inline style attributes are allowed (the admin and Swagger UI set them).
SELF, NONE, UNSAFE_INLINE = "'self'", "'none'", "'unsafe-inline'"
SECURE_CSP = {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF, UNSAFE_INLINE],
    "img-src": [SELF, "data:"],
    "font-src": [SELF],
    "connect-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
}

# --- Logging ------------------------------------------------------------------

LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING")
# One handler, on the root logger. Django's own "django" logger keeps no handler of its
# own here and passes its records up, so that each warning is printed once, not twice.
# ("django.server", runserver's request log, keeps Django's default handler.)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django": {"handlers": [], "level": LOG_LEVEL, "propagate": True}},
}
