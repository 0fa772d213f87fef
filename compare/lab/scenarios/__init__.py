"""The lab's scenarios, by name: each module defines SCENARIO (see compare/lab/__init__.py)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from compare.lab.results import Point, RunContext
from compare.lab.topology import Lab


@dataclass(frozen=True)
class LabScenario:
    name: str
    help: str
    run: Callable[[Lab, RunContext], list[Point]]
    columns: tuple[str, ...]  # the figures of the printed table, in order
    chart: tuple[str, str] = ("", "")  # (figure, unit) the admin page draws per point
    condition: tuple[str, ...] = ()  # figures that name a point's condition (chart labels)
    # The row of the classic comparison it proves or qualifies (`compare.views.Row.key`), and
    # the one line shown beside that row: summary(points) of the latest run.
    speaks_to: str = ""
    summary: Callable[[Sequence], str] | None = None
    needs_root: bool = False
    tools: tuple[str, ...] = ("redis-server", "initdb", "postgres")


# One module per scenario, in the order `manage.py lab --help` lists them.
MODULES = ("distance", "failover", "balancer", "rolling_keys", "header_cliff")


def scenarios() -> dict[str, LabScenario]:
    """Every scenario by name."""
    found = {}
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        found[module.SCENARIO.name] = module.SCENARIO
    return found
