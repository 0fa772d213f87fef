"""The price of the web shop's session lock, from the latest `manage.py compare` run.

One row per store that can lock: the CPU per add of the minimal twin with the
lock and without it, the shop's own, and how many of the simultaneous adds to
one session were lost without the lock, with it, and in the shop.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LockPrice:
    store: str
    locked_us: float | None
    unlocked_us: float | None
    shop_us: float | None
    adds: int
    lost_unlocked: int | None
    lost_locked: int | None
    lost_shop: int | None

    @property
    def extra_us(self) -> float | None:
        if self.locked_us is None or self.unlocked_us is None:
            return None
        return self.locked_us - self.unlocked_us

    @property
    def extra_share(self) -> float | None:
        if self.extra_us is None or not self.unlocked_us:
            return None
        return self.extra_us / self.unlocked_us * 100


def lock_prices(run, benchmarks) -> list[LockPrice]:
    """Rows for `run` (a MeasurementRun or None) and its saved BenchmarkResults."""
    if run is None:
        return []
    cpu = {(b.scenario, b.store): b.cpu_us_per_request for b in benchmarks}
    figures = {f["store"]: f for f in run.environment.get("lock", []) if isinstance(f, dict)}
    stores = sorted({store for key, store in cpu if key == "twin_web_add"} | set(figures))
    rows = []
    for store in stores:
        lost = figures.get(store, {}).get("lost", {})
        rows.append(
            LockPrice(
                store=store,
                locked_us=cpu.get(("twin_web_add", store)),
                unlocked_us=cpu.get(("twin_web_add_unlocked", store)),
                shop_us=cpu.get(("web_add", store)),
                adds=int(figures.get(store, {}).get("adds", 0)),
                lost_unlocked=lost.get("unlocked twin"),
                lost_locked=lost.get("locked twin"),
                lost_shop=lost.get("shop"),
            )
        )
    return rows
