"""`lab header-cliff`: a cart grown line by line until each hop refuses the header carrying it.

The API carries its cart in `Authorization: Bearer <JWT>`; a signed-cookie web
session carries it in the `Cookie` header. Both grow with every line. One
instance with every cart limit raised (for the lab only) grows a cart through
the shop itself, one add per line, and keeps every token and cookie the shop
answered with. Each of them is then sent through each hop, and a bisection finds
the longest cart the hop still accepts:

- `project-lines`: the shop as shipped: CART_MAX_LINES (50), before any byte cap;
- `project-bytes`: the shop's byte caps alone (CART_TOKEN_MAX_BYTES: 431;
  SESSION_COOKIE_MAX_BYTES: the add refused with a message), gunicorn's limit raised;
- `gunicorn`: gunicorn's default limit on one header field (8190 bytes), the
  shop's caps raised;
- `haproxy`: HAProxy's default buffer (16384 bytes, less 1024 kept for rewriting)
  in front of an instance with nothing else in the way;
- `browser` (cookie only): the 4096 bytes Chromium keeps of a cookie's name and
  value, computed from the cookie sizes; what Chromium does past it is shown in
  tests/e2e/test_signed_cookie_limit.py.

Per point (`hop`, `carrier`): `bytes_per_line`, `max_lines` (the longest cart
accepted), `header_bytes` at that cart, `status` of the first refused cart and
`sees`: what the visitor reads then (`sees()`): the shop's message on the page
a refused add redirects to, the API's `detail`, or gunicorn's and HAProxy's
status line and error page.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from django.conf import settings

from compare.lab.haproxy import Balancer
from compare.lab.results import Point, RunContext, shown
from compare.lab.scenarios import LabScenario
from compare.lab.topology import Lab, LabError
from compare.measure.servers import Server

NAME = "header-cliff"
MAX_LINES = 2600  # a signed cookie passes HAProxy's buffer near 2,300 lines
STOP_AT_BYTES = 20_000  # past HAProxy's default buffer: every hop has refused by then
GROW_SECONDS = 600
TIMEOUT = 15
RAISED = {
    "CART_MAX_LINES": str(MAX_LINES + 10),
    "CART_TOKEN_MAX_BYTES": "1000000",
    "SESSION_COOKIE_MAX_BYTES": "1000000",
}
# gunicorn reads 0 as its default (8190): lift the limit far past every other hop instead.
UNLIMITED_GUNICORN = {"GUNICORN_CMD_ARGS": "--limit-request-field_size 65536"}
BROWSER_COOKIE_LIMIT = 4096
FIGURES = ("bytes_per_line", "max_lines", "header_bytes", "status", "sees")


def add_products(lab: Lab, count: int) -> list[int]:
    """`count` more products in the lab's own database, so that every line is a real product."""
    lab.stage.db.execute(
        "INSERT INTO shop_product "
        "(category_id, slug, name, description, price, stock, active, created_at, updated_at) "
        "SELECT (SELECT min(id) FROM shop_category), 'cliff-' || g, 'Cliff item ' || g, '', "
        "1.00, 1000000, true, now(), now() FROM generate_series(1, %s) AS g",
        (count,),
    )
    rows = lab.stage.db.query("SELECT id FROM shop_product WHERE active ORDER BY id")
    return [row[0] for row in rows]


def grow_token(url: str, ids: list[int], deadline: float, progress) -> list[str]:
    """tokens[n] is the token of the n-line cart, each one answered by the shop."""
    token = requests.post(url + "/api/cart/", timeout=TIMEOUT).json()["token"]
    tokens = [token]
    for n, product_id in enumerate(ids[:MAX_LINES], start=1):
        answer = requests.post(
            url + "/api/cart/items/",
            json={"product_id": product_id},
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
        answer.raise_for_status()
        token = answer.json()["token"]
        tokens.append(token)
        progress(n / MAX_LINES)
        if len(token) > STOP_AT_BYTES or time.monotonic() > deadline:
            break
    return tokens


def grow_cookie(url: str, ids: list[int], deadline: float, progress) -> tuple[list[str], str]:
    """cookies[n] is the signed-cookie session of the n-line cart; also the CSRF token."""
    browser = requests.Session()
    browser.get(url + "/products/cliff-1/", timeout=TIMEOUT)  # its form sets the CSRF cookie
    csrf = browser.cookies.get("csrftoken", "")
    name = settings.SESSION_COOKIE_NAME
    cookies = [""]
    for n, product_id in enumerate(ids[:MAX_LINES], start=1):
        answer = browser.post(
            url + "/cart/add/",
            data={"product_id": product_id, "quantity": 1, "csrfmiddlewaretoken": csrf},
            headers={"X-CSRFToken": csrf},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        if answer.status_code != 302 or not answer.headers["Location"].rstrip("/").endswith(
            "/cart"
        ):
            raise LabError(f"the growing instance refused line {n}: {answer.status_code}")
        cookies.append(browser.cookies.get(name, ""))
        progress(n / MAX_LINES)
        if len(cookies[-1]) > STOP_AT_BYTES or time.monotonic() > deadline:
            break
    return cookies, csrf


def longest_accepted(count: int, accepted: Callable[[int], bool]) -> int | None:
    """The largest n in 1..count-1 with accepted(n), assuming acceptance only shrinks with n.

    None when even the longest cart is accepted (the hop never refused within the range).
    """
    if accepted(count - 1):
        return None
    low, high = 0, count - 1  # accepted(low) is assumed (the empty cart), accepted(high) is not
    while high - low > 1:
        middle = (low + high) // 2
        if accepted(middle):
            low = middle
        else:
            high = middle
    return low


# What the shop tells a visitor on a page: its message (a refused change), or its empty cart.
SHOP_MESSAGE = re.compile(
    r'<p class="message message-(?:error|warning)"[^>]*>(.*?)</p>', re.DOTALL | re.IGNORECASE
)
EMPTY_CART = re.compile(r'<div class="empty">\s*<p>(.*?)</p>', re.DOTALL | re.IGNORECASE)
HEAD = re.compile(r"<head\b.*?</head>|<title\b.*?</title>", re.DOTALL | re.IGNORECASE)
HEADING = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.DOTALL | re.IGNORECASE)
TITLE = re.compile(r"<title\b[^>]*>(.*?)</title>", re.DOTALL | re.IGNORECASE)
SEES_CHARS = 160


@dataclass(frozen=True)
class Refusal:
    """The first cart a hop refused: the status of its answer and what the visitor reads."""

    status: int
    sees: str


def text_of(fragment: str) -> str:
    """The words of an HTML fragment, as a browser shows them."""
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", fragment).split()))


def shortened(text: str) -> str:
    return text if len(text) <= SEES_CHARS else text[: SEES_CHARS - 1].rstrip() + "…"


def sees(status: int, reason: str, content_type: str, body: str) -> str:
    """What a visitor reads in one answer, in a line.

    The shop's page: its message (the refusal of a change), or its empty cart.
    The API: its status line and `detail`. A server's own error page (gunicorn's
    431, HAProxy's 400): its status line and the page's text, its heading said
    once. Anything else: the status line, and the page's title if it has one.
    """
    status_line = f"{status} {reason}".strip()
    if found := SHOP_MESSAGE.search(body) or EMPTY_CART.search(body):
        return shortened(text_of(found.group(1)))
    if "json" in content_type:
        try:
            detail = json.loads(body).get("detail", "")
        except (ValueError, AttributeError):
            detail = ""
        return shortened(f"{status_line}: {detail}" if detail else status_line)
    if "<html" not in body.lower():
        words = text_of(body)
        return shortened(f"{status_line}: {words}" if words else status_line)
    if "<main" in body.lower():  # a whole page of the shop, without a message
        title = TITLE.search(body)
        return shortened(f"{status_line}: {text_of(title.group(1))}" if title else status_line)
    page = HEAD.sub(" ", body)
    heading = HEADING.search(page)
    said = text_of(heading.group(1)) if heading else ""
    if said.lower() in (reason.lower(), status_line.lower(), str(status)):
        said = ""  # the heading only repeats the status line
    rest = text_of(HEADING.sub(" ", page, count=1))
    return shortened(": ".join(part for part in (status_line, said, rest) if part))


def seen(answer: requests.Response) -> str:
    return sees(
        answer.status_code,
        answer.reason or "",
        answer.headers.get("Content-Type", ""),
        answer.text,
    )


def probe_token(url: str, tokens: list[str]) -> tuple[int | None, Refusal | None]:
    answers: dict[int, requests.Response] = {}

    def accepted(n: int) -> bool:
        answer = requests.get(
            url + "/api/cart/", headers={"Authorization": f"Bearer {tokens[n]}"}, timeout=TIMEOUT
        )
        answers[n] = answer
        return answer.status_code == 200

    best = longest_accepted(len(tokens), accepted)
    return best, refusal(answers.get(best + 1) if best is not None else None)


def probe_cookie_read(url: str, cookies: list[str]) -> tuple[int | None, Refusal | None]:
    name = settings.SESSION_COOKIE_NAME
    answers: dict[int, requests.Response] = {}

    def accepted(n: int) -> bool:
        answer = requests.get(
            url + "/cart/", headers={"Cookie": f"{name}={cookies[n]}"}, timeout=TIMEOUT
        )
        answers[n] = answer
        return answer.status_code == 200 and 'data-testid="cart-line"' in answer.text

    best = longest_accepted(len(cookies), accepted)
    return best, refusal(answers.get(best + 1) if best is not None else None)


def refusal(answer: requests.Response | None) -> Refusal | None:
    return None if answer is None else Refusal(answer.status_code, seen(answer))


def probe_cookie_change(
    url: str, cookies: list[str], csrf: str, ids: list[int]
) -> tuple[int | None, Refusal | None]:
    """The project's caps: the longest cart to which the shop still adds one more line.

    A refused add redirects back to the product page, which shows the shop's
    message: the refusal keeps the add's own status and what that page says.
    """
    name = settings.SESSION_COOKIE_NAME
    refusals: dict[int, Refusal] = {}

    def accepted(n: int) -> bool:
        browser = requests.Session()
        browser.cookies.set(name, cookies[n])
        browser.cookies.set("csrftoken", csrf)
        answer = browser.post(
            url + "/cart/add/",
            data={"product_id": ids[n], "quantity": 1, "csrfmiddlewaretoken": csrf},
            headers={"X-CSRFToken": csrf},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        location = answer.headers.get("Location", "")
        if answer.status_code == 302 and location.rstrip("/").endswith("/cart"):
            # Added; but a cart this instance cannot read starts again empty: not accepted.
            return len(answer.cookies.get(name, "")) >= len(cookies[n])
        if answer.status_code == 302:
            page = browser.get(url + location if location.startswith("/") else location)
            said = f"{answer.status_code} to {location.removeprefix(url)}: {seen(page)}"
        else:
            said = seen(answer)
        refusals[n] = Refusal(answer.status_code, said)
        return False

    best = longest_accepted(len(cookies) - 1, accepted)
    if best is None:
        return None, None
    # An add to the n-line cart was the last accepted: the cart grew to n + 1 lines.
    return best + 1, refusals.get(best + 1)


def per_line(values: list[str]) -> float:
    return round((len(values[-1]) - len(values[1])) / max(len(values) - 2, 1), 1)


def run(lab: Lab, ctx: RunContext) -> list[Point]:
    ctx.say("Starting PostgreSQL ...")
    database = lab.postgres()
    ctx.say("Migrating and seeding the lab's database, with products enough for long carts ...")
    lab.prepare_shop(database)
    ids = add_products(lab, MAX_LINES + 10)
    base = lab.shop_env(store="signed_cookies")
    ctx.say("Starting the instances: one per hop ...")
    grower = lab.shop("grower", {**base, **RAISED, **UNLIMITED_GUNICORN}, workers=1)
    lines_cap = lab.shop("project-lines", {**base, **UNLIMITED_GUNICORN}, workers=1)
    bytes_only = {**RAISED, "CART_TOKEN_MAX_BYTES": "4096", "SESSION_COOKIE_MAX_BYTES": "4096"}
    bytes_cap = lab.shop("project-bytes", {**base, **bytes_only, **UNLIMITED_GUNICORN}, workers=1)
    gunicorn = lab.shop("gunicorn-limit", {**base, **RAISED}, workers=1)
    behind = lab.shop("behind-haproxy", {**base, **RAISED, **UNLIMITED_GUNICORN}, workers=1)
    balancer = Balancer(backends=[(behind.name, behind.port)], port=lab.port(), work_dir=lab.tmp)
    lab.on_close("haproxy header-cliff", balancer.stop)
    balancer.start()
    balancer.wait_status(behind.name, "UP")

    deadline = time.monotonic() + GROW_SECONDS
    tokens = grow_token(grower.url, ids, deadline, ctx.progress("growing a JWT cart"))
    cookies, csrf = grow_cookie(
        grower.url, ids, deadline, ctx.progress("growing a signed-cookie cart")
    )
    ctx.say(
        f"  grown to {len(tokens) - 1} lines ({len(tokens[-1])} bytes of token) and "
        f"{len(cookies) - 1} lines ({len(cookies[-1])} bytes of cookie)"
    )
    token_per_line, cookie_per_line = per_line(tokens), per_line(cookies)
    header = len("Authorization: Bearer ")
    cookie_header = len(f"Cookie: {settings.SESSION_COOKIE_NAME}=")

    points = []

    def point(channel, store, hop, carrier, per, found, size_of, note=""):
        best, refused = found
        figures = {
            "hop": hop,
            "carrier": carrier,
            "bytes_per_line": per,
            "max_lines": best,
            "header_bytes": None if best is None else size_of(best),
            "status": None if refused is None else refused.status,
            "sees": None if refused is None else refused.sees,
        }
        if best is None and not note:
            note = "not refused within the grown cart"
        points.append(Point(NAME, channel, store, figures, note=note))

    def token_bytes(n):
        return header + len(tokens[n])

    def cookie_bytes(n):
        return cookie_header + len(cookies[n])

    hops: list[tuple[str, Server | Balancer]] = [
        ("project-lines", lines_cap),
        ("project-bytes", bytes_cap),
        ("gunicorn", gunicorn),
        ("haproxy", balancer),
    ]
    for hop, server in hops:
        ctx.say(f"  probing {hop} ...")
        point("api", None, hop, "jwt", token_per_line, probe_token(server.url, tokens), token_bytes)
        if hop.startswith("project"):
            found = probe_cookie_change(server.url, cookies, csrf, ids)
        else:
            found = probe_cookie_read(server.url, cookies)
        point("web", "signed_cookies", hop, "cookie", cookie_per_line, found, cookie_bytes)

    name = settings.SESSION_COOKIE_NAME
    fits = [n for n, value in enumerate(cookies) if len(name) + len(value) <= BROWSER_COOKIE_LIMIT]
    points.append(
        Point(
            NAME,
            "web",
            "signed_cookies",
            {
                "hop": "browser",
                "carrier": "cookie",
                "bytes_per_line": cookie_per_line,
                "max_lines": max(fits),
                "header_bytes": cookie_bytes(max(fits)),
                "status": None,
                "sees": "the cookie is dropped; the shop refuses the change first, with a message",
            },
            note="computed: 4096 bytes of name and value; tests/e2e/test_signed_cookie_limit.py "
            "shows Chromium dropping it",
        )
    )
    return points


def summary(points) -> str:
    """Per carrier: bytes a line, and the longest cart each hop takes (and how it refuses more)."""
    said = []
    for carrier, label in (("jwt", "JWT"), ("cookie", "signed cookie")):
        hops = [p for p in points if p.figures.get("carrier") == carrier]
        if not hops:
            continue
        takes = []
        for p in hops:
            lines, status = p.figures.get("max_lines"), p.figures.get("status")
            if lines is None:
                takes.append(f"{p.figures.get('hop')}: {p.note or 'not measured'}")
            else:
                refused = f", then {status}" if status is not None else ""
                takes.append(f"{p.figures.get('hop')} {shown(lines)} lines{refused}")
        per = shown(hops[0].figures.get("bytes_per_line"), " B")
        said.append(f"{label} (+{per} a line): " + ", ".join(takes))
    return "longest cart each hop takes: " + "; ".join(said) if said else ""


SCENARIO = LabScenario(
    name=NAME,
    help="a cart grown line by line as a JWT and as a signed cookie, until the shop, gunicorn, "
    "HAProxy (and the browser) refuse it",
    run=run,
    columns=("hop", "carrier", *FIGURES),
    chart=("max_lines", "lines"),
    speaks_to="session",
    summary=summary,
    tools=("initdb", "postgres", "haproxy"),
)
