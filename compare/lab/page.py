"""The lab on /admin/compare/: the latest run of each scenario, in its section and beside its row.

`latest_sections()` is the folded section (a table and a chart per scenario);
`row_evidence(sections)` is the one line each scenario puts beside the row of
the classic comparison it proves or qualifies (`LabScenario.speaks_to`), read
from the same runs: no query of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import OuterRef, Subquery
from django.utils.safestring import SafeString

from compare import charts
from compare.lab.results import cell
from compare.lab.scenarios import LabScenario, scenarios
from compare.models import LabRun


@dataclass(frozen=True)
class LabSection:
    run: LabRun
    scenario: LabScenario | None  # None for a scenario this code no longer has
    headers: list[str]
    rows: list[list[str]]
    chart: SafeString | str
    notes: list[str]


def point_label(point, scenario: LabScenario) -> str:
    parts = [point.channel, point.store or ""]
    for name in scenario.condition:
        value = point.figures.get(name)
        parts.append(f"{value} ms" if name.endswith("_ms") else str(value))
    return " · ".join(part for part in parts if part)


def section(run: LabRun, scenario: LabScenario | None) -> LabSection:
    points = list(run.points.all())
    columns = list(scenario.columns) if scenario else sorted({k for p in points for k in p.figures})
    rows = [[p.channel, p.store or "-", *(cell(p.figures.get(c)) for c in columns)] for p in points]
    chart = ""
    if scenario and scenario.chart[0]:
        figure, unit = scenario.chart
        bars = [
            charts.Bar(point_label(p, scenario), float(p.figures[figure]), p.channel)
            for p in points
            if isinstance(p.figures.get(figure), int | float)
        ]
        if bars:
            chart = charts.horizontal_bars(
                bars,
                title=f"lab {run.scenario}: {figure}",
                desc=f"{figure} ({unit}) per measured point of lab run #{run.pk}: "
                + "; ".join(f"{b.label} {b.value:g}" for b in bars),
                unit=unit,
                slug=f"lab-{run.scenario}",
            )
    return LabSection(
        run=run,
        scenario=scenario,
        headers=["channel", "store", *columns],
        rows=rows,
        chart=chart,
        notes=[line for line in run.notes.splitlines() if line.strip()],
    )


@dataclass(frozen=True)
class LabEvidence:
    """One scenario's line beside a row: its latest run's summary, or how to run it."""

    scenario: LabScenario
    run: LabRun | None
    text: str

    @property
    def anchor(self) -> str:
        return f"lab-{self.scenario.name}"

    @property
    def command(self) -> str:
        prefix = "sudo " if self.scenario.needs_root else ""
        return f"{prefix}python manage.py lab {self.scenario.name}"


def row_evidence(sections: list[LabSection]) -> dict[str, list[LabEvidence]]:
    """Row key -> a line per scenario that speaks to that row, in the scenarios' order."""
    latest = {s.run.scenario: s.run for s in sections}
    evidence: dict[str, list[LabEvidence]] = {}
    for name, scenario in scenarios().items():
        if not scenario.speaks_to:
            continue
        run = latest.get(name)
        text = ""
        if run is not None and scenario.summary is not None:
            text = scenario.summary(list(run.points.all())) or "no point measured"
        evidence.setdefault(scenario.speaks_to, []).append(LabEvidence(scenario, run, text))
    return evidence


def latest_sections() -> list[LabSection]:
    """The latest run of each scenario, newest first: two queries, however many runs."""
    known = scenarios()
    newest = LabRun.objects.filter(scenario=OuterRef("scenario")).order_by("-started_at", "-id")
    runs = (
        LabRun.objects.filter(pk=Subquery(newest.values("pk")[:1]))
        .order_by("-started_at", "-id")
        .prefetch_related("points")
    )
    return [section(run, known.get(run.scenario)) for run in runs]
