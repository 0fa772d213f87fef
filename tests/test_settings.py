"""Settings read from the environment: safe defaults, refused dev secrets, a clean deploy check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "p9Qz-" + "kT3vW8mR1xL6yB4nH0cJ7fG2sD5aE9uI" * 2,
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "DJANGO_SECURE": "1",
    "CART_TOKEN_KEYS": "k2026:" + "s" * 16 + "0123456789abcdefghijklmnop",
}
CONFIG_VARIABLES = (
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_SECURE",
    "CART_TOKEN_KEYS",
    "SESSION_STORE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run manage.py in a child process with a clean set of our variables."""
    environ = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_dev_secret_key_is_refused_when_debug_is_off():
    result = manage("check", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("changeme", "8 characters, fewer than 50"),
        ("ab" * 40, "2 distinct characters, fewer than 16"),
        ("django-insecure-" + "kT3vW8mR1xL6yB4nH0cJ7fG2sD5aE9uI" * 2, "django-insecure"),
    ],
)
def test_a_weak_secret_key_is_refused_at_start_up_when_debug_is_off(key, reason):
    env = dict(PRODUCTION_ENV, DJANGO_SECRET_KEY=key)
    for command in (["check"], ["shell", "-c", "import config.wsgi"]):
        result = manage(*command, **env)
        assert result.returncode != 0
        assert "DJANGO_SECRET_KEY is too weak to run with DJANGO_DEBUG off" in result.stderr
        assert reason in result.stderr


def test_a_weak_secret_key_is_allowed_for_local_development():
    result = manage("check", DJANGO_DEBUG="1", DJANGO_SECRET_KEY="changeme")
    assert result.returncode == 0, result.stderr


def test_the_dev_secret_key_is_allowed_for_local_development():
    result = manage("check", DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_the_dev_secret_key_is_random_per_checkout_and_kept_for_the_next_start(tmp_path):
    from config.settings import dev_secret_key

    first = dev_secret_key(tmp_path / "var" / "dev-secret-key")
    again = dev_secret_key(tmp_path / "var" / "dev-secret-key")
    elsewhere = dev_secret_key(tmp_path / "other" / "dev-secret-key")
    assert first == again != elsewhere
    assert first.startswith("django-insecure-dev-") and len(first) > 60
    assert (tmp_path / "var" / "dev-secret-key").stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == ["dev-secret-key"]


def test_an_unknown_session_store_is_refused_with_the_choices():
    result = manage("check", SESSION_STORE="memcache")
    assert result.returncode != 0
    assert "db, cache, cached_db, signed_cookies" in result.stderr


def test_deploy_check_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_flags_a_production_run_without_https_switch():
    env = dict(PRODUCTION_ENV, DJANGO_SECURE="0")
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "security.W004" in result.stderr or "security.W004" in result.stdout


@pytest.mark.parametrize(
    ("store", "engine"),
    [
        ("db", "django.contrib.sessions.backends.db"),
        ("cache", "shop.cache_session"),
        ("cached_db", "django.contrib.sessions.backends.cached_db"),
        ("signed_cookies", "shop.signed_cookie_session"),
    ],
)
def test_session_store_setting_chooses_the_engine(store, engine):
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings; print(settings.SESSION_ENGINE)",
        SESSION_STORE=store,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == engine


def test_cookies_are_http_only_and_same_site_lax_and_secure_behind_https():
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SAMESITE, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    plain = manage("shell", "-v", "0", "-c", code)
    secure = manage("shell", "-v", "0", "-c", code, **PRODUCTION_ENV)
    assert plain.stdout.split() == ["True", "Lax", "Lax", "False", "False"]
    assert secure.stdout.split() == ["True", "Lax", "Lax", "True", "True"], secure.stderr


def test_an_unknown_revocation_mode_is_refused_with_the_choices():
    result = manage("check", CART_TOKEN_REVOCATION="blocklist")
    assert result.returncode != 0
    assert "none, denylist, user-version, short-ttl" in result.stderr


@pytest.mark.parametrize(("mode", "ttl"), [("none", "604800"), ("short-ttl", "300")])
def test_short_ttl_mode_makes_tokens_short_lived_by_default(mode, ttl):
    code = "from django.conf import settings; print(settings.CART_TOKEN_TTL)"
    result = manage("shell", "-v", "0", "-c", code, CART_TOKEN_REVOCATION=mode)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ttl
