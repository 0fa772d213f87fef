"""A Jepsen-style checker: did the carts keep every change the server acknowledged?

Each shopper records every cart change it tried (one unit of one product) and
how it ended: acknowledged by the server, refused in a way that says nothing
was changed (the shop's "cart cannot be reached"), or unknown (a timeout, a
broken connection, a 5xx: it may or may not have happened). After the run the
checker compares each final cart with its shopper's record, product by
product. With `a` acknowledged and `u` unknown adds of a product, a correct
store leaves between `a` and `a + u` units in the cart: fewer is a lost
acknowledged change, more is a change the server said it did not make.

`missing(changes, cart)` is the same comparison for a cart read at any moment:
the fleet scenarios (compare/lab/fleet.py) check carts with it while they run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

OK, FAILED, UNKNOWN = "ok", "failed", "unknown"


@dataclass(frozen=True)
class Change:
    product_id: int
    started: float  # monotonic seconds
    ended: float
    outcome: str  # OK, FAILED or UNKNOWN
    status: int | None = None  # the HTTP status, None when no answer came


@dataclass
class History:
    """One shopper's record: the changes it tried, and its cart as read after the run."""

    shopper: str
    changes: list[Change] = field(default_factory=list)
    # product id -> quantity, read after the run; None if the cart could not be read at all.
    final: dict[int, int] | None = None
    server_errors: int = 0  # 5xx answers to any of its requests, final read included

    def record(self, change: Change) -> None:
        self.changes.append(change)


@dataclass(frozen=True)
class Verdict:
    changes: int
    acknowledged: int
    lost_acknowledged: int
    not_acknowledged_but_kept: int
    carts_lost: int
    errors: int  # changes that did not succeed (refused or unknown)
    unclear: int  # of those, the ones without a clear answer (timeouts, 5xx, other pages)
    server_errors: int
    unavailable_s: float  # from the start of the first failed change to the end of the last


def missing(changes: Iterable[Change], cart: Mapping[int, int]) -> dict[int, int]:
    """Per product, the acknowledged units of `changes` that `cart` does not hold."""
    acked = Counter(c.product_id for c in changes if c.outcome == OK)
    return {pid: n - cart.get(pid, 0) for pid, n in acked.items() if cart.get(pid, 0) < n}


def check(histories: Iterable[History]) -> Verdict:
    histories = list(histories)
    acknowledged = lost = extra = carts_lost = 0
    for history in histories:
        acked = Counter(c.product_id for c in history.changes if c.outcome == OK)
        unknown = Counter(c.product_id for c in history.changes if c.outcome == UNKNOWN)
        final = history.final or {}
        acknowledged += sum(acked.values())
        kept_acked = 0
        lost += sum(missing(history.changes, final).values())
        for product_id in set(acked) | set(final):
            quantity = final.get(product_id, 0)
            extra += max(0, quantity - acked[product_id] - unknown[product_id])
            kept_acked += min(quantity, acked[product_id])
        if acked and kept_acked == 0:
            carts_lost += 1
    failing = [c for h in histories for c in h.changes if c.outcome != OK]
    unavailable = max(c.ended for c in failing) - min(c.started for c in failing) if failing else 0
    return Verdict(
        changes=sum(len(h.changes) for h in histories),
        acknowledged=acknowledged,
        lost_acknowledged=lost,
        not_acknowledged_but_kept=extra,
        carts_lost=carts_lost,
        errors=len(failing),
        unclear=sum(1 for c in failing if c.outcome == UNKNOWN),
        server_errors=sum(h.server_errors for h in histories),
        unavailable_s=round(unavailable, 2),
    )
