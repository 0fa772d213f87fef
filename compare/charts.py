"""Charts for /admin/compare/ as inline SVG drawn on the server: no JavaScript, no CDN.

Each chart has a <title> and a <desc> (read by screen readers), labelled axes,
and its numbers written next to the bars, so nothing is only a colour or a length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

COLOURS = {"web": "#9c4215", "api": "#1a5f99", "baseline": "#7b8794"}
FONT = "font-family=\"-apple-system, 'Segoe UI', system-ui, Roboto, sans-serif\""


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    channel: str  # "web", "api" or "baseline": picks the colour
    text: str = ""  # the number as written on the chart; defaults to the value


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^n at or above `value` (an axis maximum)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value * 0.999999:
            return float(candidate)
    return float(10 ** (exponent + 1))  # pragma: no cover


def nice_axis(value: float, *, most_ticks: int = 5) -> tuple[float, int]:
    """An axis maximum just above `value` and its number of intervals, each interval a
    1, 2, 2.5 or 5 × 10^n step: 1,125 gives 1,250 in five steps of 250, not 2,000."""
    if value <= 0:
        return 1.0, 4
    step = nice_ceiling(value / most_ticks)
    intervals = max(math.ceil(value / step - 1e-9), 1)
    return step * intervals, intervals


def _number(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"


def _svg(width: int, height: int, title: str, desc: str, slug: str, body: list[str]) -> SafeString:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{slug}-title {slug}-desc" {FONT}>'
        f'<title id="{slug}-title">{escape(title)}</title>'
        f'<desc id="{slug}-desc">{escape(desc)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every text is escaped


def horizontal_bars(
    bars: Sequence[Bar], *, title: str, desc: str, unit: str, slug: str, width: int = 620
) -> SafeString:
    """One bar per row, the label on the left and the value at the bar's end."""
    label_width, right_pad, row, top = 250, 105, 30, 34
    height = top + row * max(len(bars), 1) + 42
    plot = width - label_width - right_pad
    top_value, intervals = nice_axis(max((bar.value for bar in bars), default=0))
    body = [
        f'<text x="0" y="18" font-size="14" font-weight="600" fill="currentColor">'
        f"{escape(title)}</text>"
    ]
    for tick in range(intervals + 1):
        value = top_value * tick / intervals
        x = label_width + plot * tick / intervals
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 36}" '
            f'stroke="currentColor" stroke-opacity=".15"/>'
            f'<text x="{x:.1f}" y="{height - 22}" font-size="11" text-anchor="middle" '
            f'fill="currentColor" fill-opacity=".75">{_number(value)}</text>'
        )
    body.append(
        f'<text x="{label_width + plot / 2:.1f}" y="{height - 4}" font-size="11" '
        f'text-anchor="middle" fill="currentColor" fill-opacity=".75">{escape(unit)}</text>'
    )
    for index, bar in enumerate(bars):
        y = top + index * row
        length = plot * bar.value / top_value if top_value else 0
        colour = COLOURS.get(bar.channel, COLOURS["baseline"])
        body.append(
            f'<text x="{label_width - 8}" y="{y + 16}" font-size="12" text-anchor="end" '
            f'fill="currentColor">{escape(bar.label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{max(length, 1):.1f}" height="18" '
            f'rx="3" fill="{colour}"><title>{escape(bar.label)}: '
            f"{escape(bar.text or _number(bar.value))} {escape(unit)}</title></rect>"
            f'<text x="{label_width + length + 6:.1f}" y="{y + 16}" font-size="12" '
            f'font-weight="600" fill="currentColor">{escape(bar.text or _number(bar.value))}'
            f"</text>"
        )
    return _svg(width, height, title, desc, slug, body)


def daily_orders_chart(days: Sequence, *, slug: str = "orders-by-day", width: int = 760):
    """Orders per day, one bar per channel side by side; `days` are figures.DayOrders."""
    channels = [("web", "Web shop (session)"), ("api", "JSON API (token)")]
    left, right, top, bottom = 44, 12, 44, 40
    height = 250
    plot_w, plot_h = width - left - right, height - top - bottom
    # Whole orders on every tick: the top is a multiple of the four tick steps.
    highest = max((max(d.counts.values(), default=0) for d in days), default=0)
    top_value = float(max(4, math.ceil(highest / 4) * 4))
    title = "Orders per day by channel"
    totals = {key: sum(d.counts.get(key, 0) for d in days) for key, _ in channels}
    first = days[0].day.isoformat() if days else ""
    last = days[-1].day.isoformat() if days else ""
    desc = (
        f"Orders per UTC day from {first} to {last}: "
        + ", ".join(f"{label} {totals[key]} in total" for key, label in channels)
        + ". "
        + "; ".join(
            f"{d.day.isoformat()}: "
            + ", ".join(f"{key} {d.counts.get(key, 0)}" for key, _ in channels)
            for d in days
            if any(d.counts.values())
        )
    )
    body = [
        f'<text x="0" y="18" font-size="14" font-weight="600" fill="currentColor">'
        f"{escape(title)} (last {len(days)} days, UTC)</text>"
    ]
    legend_x = width - 330
    for index, (key, label) in enumerate(channels):
        x = legend_x + index * 170
        body.append(
            f'<rect x="{x}" y="7" width="12" height="12" rx="2" fill="{COLOURS[key]}"/>'
            f'<text x="{x + 17}" y="17" font-size="12" fill="currentColor">'
            f"{escape(label)}: {totals[key]:,}</text>"
        )
    for tick in range(5):
        value = top_value * tick / 4
        y = top + plot_h - plot_h * tick / 4
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="currentColor" stroke-opacity="{".35" if tick == 0 else ".12"}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="currentColor" fill-opacity=".75">{_number(value)}</text>'
        )
    body.append(
        f'<text x="12" y="{top + plot_h / 2:.1f}" font-size="11" text-anchor="middle" '
        f'fill="currentColor" fill-opacity=".75" transform="rotate(-90 12 {top + plot_h / 2:.1f})">'
        f"orders</text>"
    )
    slot = plot_w / max(len(days), 1)
    bar_w = max(min(slot * 0.38, 16), 2)
    for index, day in enumerate(days):
        x0 = left + index * slot + slot / 2 - bar_w
        for offset, (key, label) in enumerate(channels):
            count = day.counts.get(key, 0)
            if not count:
                continue
            h = plot_h * count / top_value
            x = x0 + offset * bar_w
            y = top + plot_h - h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[key]}"><title>{day.day.isoformat()}: {count} '
                f"{escape(label)} orders</title></rect>"
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" font-size="10" '
                f'text-anchor="middle" fill="currentColor">{count}</text>'
            )
        if index % 5 == 0 or index == len(days) - 1:
            cx = left + index * slot + slot / 2
            body.append(
                f'<text x="{cx:.1f}" y="{height - bottom + 16}" font-size="11" '
                f'text-anchor="middle" fill="currentColor" fill-opacity=".75">'
                f"{day.day:%d %b}</text>"
            )
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" font-size="11" '
        f'text-anchor="middle" fill="currentColor" fill-opacity=".75">day (UTC)</text>'
    )
    return _svg(width, height, title, desc, slug, body)


SCENARIO_LABELS = {
    "bare": "Bare Django view",
    "drf_bare": "Bare DRF view",
    "api_add": "API add-to-cart",
    "web_add": "Web add-to-cart",
    "api_journey": "API shopper journey",
    "web_journey": "Web shopper journey",
}


def benchmark_label(result) -> str:
    """“Web add-to-cart · db” from a BenchmarkResult."""
    label = SCENARIO_LABELS.get(result.scenario, result.scenario.replace("_", " ").capitalize())
    return f"{label} · {result.store}" if result.store else label


def _channel(result) -> str:
    return result.channel if result.channel in COLOURS else "baseline"


def throughput_chart(results: Sequence) -> SafeString:
    bars = [
        Bar(
            benchmark_label(r),
            r.rps,
            _channel(r),
            f"{r.rps:,.0f}" + (f" · {r.ratio:.2f}×" if r.ratio is not None else ""),
        )
        for r in results
    ]
    desc = "Requests per second per scenario and session store; higher is better. " + "; ".join(
        f"{bar.label}: {bar.text} req/s" for bar in bars
    )
    return horizontal_bars(
        bars,
        title="Throughput (higher is better)",
        desc=desc,
        unit="requests per second (ratio to the bare Django view)",
        slug="throughput",
    )


def latency_chart(results: Sequence) -> SafeString:
    bars = [Bar(benchmark_label(r), r.p99_ms, _channel(r), f"{r.p99_ms:,.1f} ms") for r in results]
    desc = "99th percentile latency per scenario and session store; lower is better. " + "; ".join(
        f"{bar.label}: {bar.text}" for bar in bars
    )
    return horizontal_bars(
        bars,
        title="p99 latency (lower is better)",
        desc=desc,
        unit="milliseconds, 99th percentile",
        slug="latency",
    )
