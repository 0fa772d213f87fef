"""The comparison's row "What the stateless channel still keeps", measured.

Live figures come from this deployment's database and stores (spent cart ids,
idempotency keys, revoked carts, login versions, account carts); the cost of
each revocation mode and the drills come from the latest `manage.py compare`
run (its `hidden_state` figures and its forked_cart / replay / stale_claims
drills).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from api import revocation

from .views import Figure, Row, _drill_figure

HIDDEN_DRILLS = ("forked_cart", "replay", "stale_claims")


def _bytes(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f} B"


LIVE_SQL = """
SELECT
  (SELECT COUNT(cart_id) FROM shop_order WHERE channel = 'api'),
  (SELECT COALESCE(SUM(LENGTH(cart_id)), 0) FROM shop_order WHERE channel = 'api'),
  (SELECT COUNT(*) FROM shop_order WHERE channel = 'api' AND idempotency_key <> ''),
  (SELECT COALESCE(SUM(LENGTH(idempotency_key)), 0) FROM shop_order WHERE channel = 'api'),
  (SELECT COUNT(*) FROM api_loginversion),
  (SELECT COUNT(*) FROM shop_accountcart),
  (SELECT COALESCE(SUM(LENGTH(CAST(lines AS TEXT))), 0) FROM shop_accountcart)
"""


def _live_figures() -> list[Figure]:
    """The state the API keeps on this deployment, in one query (and the denylist's size)."""
    with connection.cursor() as cursor:
        cursor.execute(LIVE_SQL)
        spent, spent_bytes, keys, key_bytes, versions, accounts, account_bytes = (
            int(value) for value in cursor.fetchone()
        )
    spent_row = {"rows": spent, "size": spent_bytes, "keys": keys, "key_size": key_bytes}
    mode = settings.CART_TOKEN_REVOCATION
    if mode == revocation.DENYLIST:
        denylist = revocation.denylist()
        try:
            revoked = denylist.size()
            revoked_text = _bytes(revoked.bytes)
            revoked_detail = f"{revoked.entries:,} entries in {denylist.name}"
        except Exception as error:  # the store not answering is a figure too
            revoked_text, revoked_detail = "not answering", type(error).__name__
    else:
        revoked_text, revoked_detail = "0 B", "nothing kept in this mode"
    spent = spent_row
    return [
        Figure(
            "Spent cart ids",
            _bytes(spent["size"] or 0),
            "shop_order.cart_id (unique), this database",
            f"{spent['rows']:,} rows · 0 lookups per cart request, 1 index check per checkout "
            "· buys: a cart is ordered once, whichever token is replayed; kept with the order",
        ),
        Figure(
            "Idempotency keys",
            _bytes(spent["key_size"] or 0),
            "shop_order.idempotency_key, this database",
            f"{spent['keys']:,} rows · read only on a conflicting checkout · buys: a retried "
            "checkout gets its order back; kept with the order",
        ),
        Figure(
            "Login checks (always on)",
            _bytes(versions * 16),
            "api_loginversion + auth_user, this database",
            f"{versions:,} login versions · 1 lookup per logged-in request · buys: a password "
            "change, deactivation or the staff action ends API logins at once",
        ),
        Figure(
            f"Denylist ({'in use' if mode == revocation.DENYLIST else 'not in use'})",
            revoked_text,
            f"CART_TOKEN_REVOCATION={mode}",
            f"{revoked_detail} · 1 lookup per request in denylist mode · buys: logout ends "
            "every copy of a cart; entries expire with the cart's last token",
            "" if mode == revocation.DENYLIST else "muted",
        ),
        Figure(
            "Account carts",
            _bytes(account_bytes),
            "shop_accountcart, this database (both channels)",
            f"{accounts:,} rows · 1 lookup per login · buys: a cart that follows its "
            "account across devices and channels",
        ),
    ]


def _mode_figures(run) -> list[Figure]:
    hidden = (run.environment or {}).get("hidden_state") if run else None
    if not hidden:
        return [
            Figure(
                "Revocation modes under load",
                "not measured yet",
                "run: python manage.py compare --only hidden-state",
                tone="muted",
            )
        ]
    out = []
    for m in hidden.get("modes", []):
        if m.get("error"):
            out.append(
                Figure(f"Revocation: {m['mode']}", "failed", f"run #{run.pk}", m["error"], "bad")
            )
            continue
        ratio = f"{m['ratio']:.2f}x" if m.get("ratio") is not None else "—"
        p99 = f"p99 {m['p99_ratio']:.2f}x" if m.get("p99_ratio") is not None else ""
        per = m.get("bytes_per_revoked")
        kept = (
            f"{m['state_bytes']} B per user"
            if m["mode"] == revocation.USER_VERSION and m.get("revoked")
            else f"{per:.0f} B per revoked token"
            if per is not None
            else "0 B kept"
        )
        out.append(
            Figure(
                f"Revocation: {m['mode']}",
                f"{ratio} of the bare view",
                f"manage.py compare, run #{run.pk}",
                f"{p99} · {m['lookups_logged_in']:.1f} lookups per logged-in request, "
                f"{m['lookups_anonymous']:.1f} anonymous · {kept} · revoke → first 401: "
                f"{m['to_401']}",
            )
        )
    return out


def _drill_figures(drills) -> list[Figure]:
    return [_drill_figure(d) for d in drills if d.drill in HIDDEN_DRILLS]


def hidden_state_row(data) -> Row:
    """The row: the web shop's per-account state on the left, the API's on the right."""
    web = [
        Figure(
            "The session (every cart)",
            "see the rows above",
            "SESSION_STORE",
            "the stateful channel keeps the cart itself",
        ),
        *[_drill_figure(d) for d in data.drills if d.drill == "concurrent_adds"],
    ]
    api = _live_figures() + _mode_figures(data.run) + _drill_figures(data.drills)
    return Row(
        "still_keeps",
        "What the stateless channel still keeps",
        "Everything: the cart, the login, the lock that keeps simultaneous changes.",
        "No cart, but spent ids, idempotency keys, login checks, a denylist if chosen, "
        "and account carts: each for a guarantee a token alone cannot give.",
        web,
        api,
    )
