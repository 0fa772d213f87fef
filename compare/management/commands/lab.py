"""`manage.py lab SCENARIO`: one scenario on the lab's own topology; print, save, --json.

The lab starts its own PostgreSQL cluster, Redis servers, Sentinels and shop
instances on ports of its own range (127.0.0.1 or its own network namespaces)
and removes every one of them at the end, also on Ctrl-C or an error. Only the
results are saved in the configured database, where /admin/compare/ reads them.
"""

from __future__ import annotations

import os
import platform
import signal
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from compare.lab import results
from compare.lab.scenarios import scenarios
from compare.lab.topology import DEFAULT_PORTS, Lab, LabError, require_root, require_tools


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def port_range(text: str) -> range:
    try:
        low, high = (int(part) for part in text.split("-", 1))
    except ValueError:
        raise CommandError(f"--ports must look like 17000-17499, not {text!r}") from None
    if not 1024 <= low < high <= 65535:
        raise CommandError("--ports must be a range inside 1024-65535")
    return range(low, high + 1)


class Command(BaseCommand):
    help = (
        "Run one lab scenario on the lab's own servers (PostgreSQL, Redis + Sentinel, "
        f"gunicorn, HAProxy): {', '.join(scenarios())}. Prints a table and saves it for "
        "/admin/compare/."
    )

    def add_arguments(self, parser):
        parser.add_argument("scenario", choices=list(scenarios()), help="Which scenario to run.")
        parser.add_argument(
            "--seconds", type=int, default=10, help="Load per measured point (default 10)."
        )
        parser.add_argument("--users", type=int, default=8, help="Concurrent shoppers (default 8).")
        parser.add_argument(
            "--json", type=Path, metavar="PATH", help="Also write the points as a JSON list."
        )
        parser.add_argument(
            "--ports",
            default=f"{DEFAULT_PORTS.start}-{DEFAULT_PORTS.stop - 1}",
            help="TCP ports the lab's servers may use (default %(default)s).",
        )
        parser.add_argument("--no-save", action="store_true", help="Print only; save nothing.")

    def say(self, text: str = "") -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def progress(self, label: str):
        interactive = self.stdout.isatty()
        if not interactive:
            self.say(f"  {label} ...")

        def show(fraction: float) -> None:
            if interactive:
                filled = int(fraction * 20)
                self.stdout.write(
                    f"\r  {label:<52} [{'#' * filled:<20}] {fraction:4.0%}",
                    ending="" if fraction < 1 else "\n",
                )
                self.stdout.flush()

        return show

    def handle(self, *args, **options):
        scenario = scenarios()[options["scenario"]]
        seconds, users = options["seconds"], options["users"]
        if seconds < 1 or users < 1:
            raise CommandError("--seconds and --users must be at least 1.")
        ports = port_range(options["ports"])
        try:
            if scenario.needs_root:
                require_root(f"lab {scenario.name}")
            require_tools(*scenario.tools)
        except LabError as error:
            raise CommandError(str(error)) from None

        ctx = results.RunContext(seconds=seconds, users=users, say=self.say, progress=self.progress)
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        started_at = datetime.now(UTC)
        self.say(f"lab {scenario.name}: {scenario.help}")
        lab = Lab(ports=ports, log=self.say)
        try:
            points = scenario.run(lab, ctx)
        except KeyboardInterrupt:
            self.say("\nInterrupted: removing every server, namespace and rule of the lab.")
            raise CommandError("interrupted; nothing was saved") from None
        except LabError as error:
            raise CommandError(str(error)) from None
        finally:
            left = lab.pending
            failed = lab.close()
            if left:
                self.say(f"Removed {len(left) - len(failed)} of {len(left)} lab resources.")
            signal.signal(signal.SIGTERM, previous)

        text = results.points_table(points, scenario.columns)
        if ctx.notes:
            text += "\n\n" + "\n".join(f"note: {line}" for line in ctx.notes)
        self.say("\n" + text)
        if options["json"]:
            results.write_json(points, options["json"])
            self.say(f"Wrote {len(points)} points to {options['json']}")
        if not options["no_save"]:
            run = results.save(
                scenario=scenario.name,
                points=points,
                seconds=seconds,
                report=text,
                notes=ctx.notes,
                environment={
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "kernel": platform.release(),
                    "users": users,
                },
                started_at=started_at,
                finished_at=datetime.now(UTC),
            )
            self.say(f"Saved as lab run #{run.pk}: see /admin/compare/")
