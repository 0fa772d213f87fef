"""A lab run's measured points: the printed table, the JSON file and the saved rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from compare.measure.report import table

Figure = int | float | str | bool | None


@dataclass
class Point:
    """One measured point: a channel (and its session store) under one condition.

    `figures` carries the scenario's named figures (`rps`, `p50_ms`, `unavailable_s` ...)
    and the condition that defines the point (`target`, `rtt_ms`, `mode` ...). A figure
    that could not be measured here is None, and `note` says why: never a made-up number.
    """

    scenario: str
    channel: str  # "web" or "api"
    store: str | None  # the session store; None for the API
    figures: dict[str, Figure] = field(default_factory=dict)
    note: str = ""

    def as_json(self) -> dict[str, Figure]:
        data: dict[str, Figure] = {
            "scenario": self.scenario,
            "channel": self.channel,
            "store": self.store,
        }
        data.update(self.figures)
        if self.note:
            data["note"] = self.note
        return data


def cell(value: Figure) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def shown(value: Figure, unit: str = "") -> str:
    """A figure in a sentence: "not measured" for None, never a number in its place."""
    if value is None:
        return "not measured"
    return f"{cell(value)}{unit}"


def channel_name(point) -> str:
    """ "API", or "web on <store>": how a summary names the shoppers of a point."""
    return "API" if point.channel == "api" else f"web on {point.store}" if point.store else "web"


def points_table(points: Sequence[Point], columns: Sequence[str]) -> str:
    """channel, store, then `columns` in order; a last column for notes if any point has one."""
    headers = ["channel", "store", *columns]
    with_notes = any(point.note for point in points)
    if with_notes:
        headers.append("note")
    rows = []
    for point in points:
        row = [point.channel, point.store or "-", *(cell(point.figures.get(c)) for c in columns)]
        if with_notes:
            row.append(point.note)
        rows.append(row)
    numeric = {
        index + 2
        for index, column in enumerate(columns)
        if any(isinstance(p.figures.get(column), int | float) for p in points)
    }
    return table(headers, rows, right=numeric) if rows else "(no points measured)"


def write_json(points: Sequence[Point], path: Path) -> None:
    """A JSON list, one object per point: scenario, channel, store and the named figures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps([point.as_json() for point in points], indent=2) + "\n", encoding="utf-8"
    )


def save(
    *,
    scenario: str,
    points: Sequence[Point],
    seconds: int,
    report: str,
    notes: Sequence[str],
    environment: dict,
    started_at: datetime,
    finished_at: datetime,
):
    """Store the run where /admin/compare/ reads it; returns the LabRun."""
    from django.db import transaction

    from compare.models import LabPoint, LabRun

    with transaction.atomic():
        run = LabRun.objects.create(
            scenario=scenario,
            started_at=started_at,
            finished_at=finished_at,
            seconds=seconds,
            environment=environment,
            report=report,
            notes="\n".join(notes),
        )
        LabPoint.objects.bulk_create(
            LabPoint(
                run=run,
                channel=point.channel,
                store=point.store or "",
                figures=point.figures,
                note=point.note,
            )
            for point in points
        )
    return run


@dataclass
class RunContext:
    """What a scenario gets besides the Lab: its parameters and where to report progress."""

    seconds: int
    users: int = 8
    say: Callable[[str], None] = print
    # progress(label) -> show(fraction): a progress line for one measured point.
    progress: Callable[[str], Callable[[float], None]] = lambda label: lambda fraction: None
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """A line for the report about something that could not be measured, and why."""
        self.notes.append(text)
        self.say(f"  note: {text}")
