"""Every login (web, admin, API) is throttled per account and per client address.

django-axes counts failures in the database, so every process of every instance
shares the count: two gunicorn servers allow what one does, not twice as much.
"""

import contextlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
from http import HTTPStatus
from pathlib import Path

import pytest

from compare.measure.servers import serve, server_env

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a-long-password-1"
LIMIT = 5
LOCKED = "Too many failed logins for this account or from your address (5 in a row)"
WEB_LOGINS = ["/accounts/login/", "/admin/login/"]


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user("ada", password=PASSWORD, is_staff=True)


def web_login(client, path: str, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("path", WEB_LOGINS)
def test_web_and_admin_logins_lock_an_account_after_the_limit_even_with_the_right_password(
    client, ada, path
):
    statuses = [web_login(client, path, "ada", "wrong").status_code for _ in range(LIMIT)]
    right = web_login(client, path, "ada", PASSWORD)

    assert statuses == [HTTPStatus.OK] * (LIMIT - 1) + [HTTPStatus.TOO_MANY_REQUESTS]
    assert right.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert LOCKED in right.content.decode()
    assert right["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session


def test_an_account_is_locked_whatever_address_the_guesses_come_from(client, ada):
    for n in range(LIMIT):
        web_login(client, "/accounts/login/", "ada", "wrong", address=f"10.0.1.{n}")
    answer = web_login(client, "/accounts/login/", "ada", PASSWORD, address="10.0.2.1")
    assert answer.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_an_address_is_locked_whatever_accounts_it_guesses(client, ada):
    for n in range(LIMIT):
        web_login(client, "/accounts/login/", f"user{n}", "wrong", address="10.0.3.1")
    answer = web_login(client, "/accounts/login/", "ada", PASSWORD, address="10.0.3.1")
    elsewhere = web_login(client, "/accounts/login/", "ada", PASSWORD, address="10.0.3.2")
    assert answer.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert elsewhere.status_code == HTTPStatus.FOUND


def test_a_success_before_the_limit_starts_the_count_again(client, ada):
    for _ in range(LIMIT - 1):
        web_login(client, "/accounts/login/", "ada", "wrong")
    assert web_login(client, "/accounts/login/", "ada", PASSWORD).status_code == HTTPStatus.FOUND
    client.post("/accounts/logout/")
    for _ in range(LIMIT - 1):
        web_login(client, "/accounts/login/", "ada", "wrong")
    assert web_login(client, "/accounts/login/", "ada", PASSWORD).status_code == HTTPStatus.FOUND


def test_the_api_login_answers_429_as_json_with_retry_after(api, ada):
    body = {"username": "ada", "password": "wrong"}
    statuses = [api.post("/api/auth/token/", body).status_code for _ in range(LIMIT)]
    right = api.post("/api/auth/token/", {"username": "ada", "password": PASSWORD})

    assert statuses == [HTTPStatus.UNAUTHORIZED] * (LIMIT - 1) + [HTTPStatus.TOO_MANY_REQUESTS]
    assert right.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert right.json()["code"] == "login_throttled"
    assert right.json()["detail"].startswith(LOCKED)
    assert right["Retry-After"] == "900"


def test_forwarded_for_headers_do_not_give_new_addresses(api, ada):
    for n in range(LIMIT):
        api.post(
            "/api/auth/token/",
            {"username": f"user{n}", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"10.9.0.{n}",
        )
    answer = api.post("/api/auth/token/", {"username": "ada", "password": PASSWORD})
    assert answer.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_the_limit_and_lockout_are_settings(api, ada, settings):
    from datetime import timedelta

    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    body = {"username": "ada", "password": "wrong"}
    statuses = [api.post("/api/auth/token/", body).status_code for _ in range(2)]
    assert statuses == [HTTPStatus.UNAUTHORIZED, HTTPStatus.TOO_MANY_REQUESTS]
    assert (
        "(2 in a row): logging in is refused for 1 minute,"
        in (api.post("/api/auth/token/", body).json()["detail"])
    )


# --- Two processes share one count ------------------------------------------------


def post_login(base: str, password: str) -> int:
    body = json.dumps({"username": "ada", "password": password}).encode()
    request = urllib.request.Request(  # noqa: S310 (an http:// URL of a test server)
        base + "/api/auth/token/", body, {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_two_server_processes_share_the_count_and_allow_the_limit_once(tmp_path):
    env = server_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}",
            "DATABASE_CONN_MAX_AGE": "0",
            "DJANGO_DEBUG": "1",
            "REDIS_URL": "",
        }
    )
    create = (
        "from django.contrib.auth.models import User; "
        f"User.objects.create_user('ada', password='{PASSWORD}')"
    )
    for command in (["migrate", "--noinput", "-v0"], ["shell", "-c", create]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    with contextlib.ExitStack() as stack:
        a, b = (stack.enter_context(serve("shop", env=env, workers=1)).url for _ in range(2))
        statuses = [post_login((a, b)[n % 2], "wrong") for n in range(2 * LIMIT)]
        right = [post_login(a, PASSWORD), post_login(b, PASSWORD)]

    assert statuses[: LIMIT - 1] == [HTTPStatus.UNAUTHORIZED] * (LIMIT - 1)
    assert statuses[LIMIT - 1 :] == [HTTPStatus.TOO_MANY_REQUESTS] * (LIMIT + 1)
    assert right == [HTTPStatus.TOO_MANY_REQUESTS] * 2
