"""The lab: the shop's real topology on one machine, and the scenarios measured on it.

`python manage.py lab SCENARIO` (or `make lab`) starts its own servers: a
PostgreSQL cluster (initdb), Redis with a replica and three Sentinels, gunicorn
instances of the shop, HAProxy, on ports of the lab's own range on 127.0.0.1 or
inside network namespaces it creates, and removes every one of them at the end,
also on Ctrl-C or an error (`topology.Lab`).

How a scenario plugs in
-----------------------
1. Write a module `compare/lab/scenarios/<name>.py` with a function

       def run(lab: Lab, ctx: RunContext) -> list[Point]

   It builds what it needs through `lab` (`lab.postgres()`, `lab.prepare_shop(db)`,
   `lab.redis(...)`, `lab.sentinels(...)`, `lab.shop(name, lab.shop_env(...))`,
   `lab.namespace()`, `lab.netem(...)`, `lab.process(name, argv)` for anything else,
   and `lab.on_close(label, undo)` for any other thing it creates). It never
   stops anything itself unless the scenario is about stopping it: the lab
   removes everything at the end. Every load loop is bounded in count and in
   time (`ctx.seconds`). It reports progress with `ctx.progress(label)` (a function
   taking the fraction done) or `ctx.say(line)`, and whatever it cannot measure on
   this machine with `ctx.note(...)` plus a None figure and a `Point.note`: never a
   made-up figure.
2. Return one `Point(scenario, channel, store, figures)` per measured point:
   `channel` is "web" or "api", `store` the session store (None for the API), and
   `figures` the named figures of the issue (`rps`, `p50_ms`, `unavailable_s`...)
   plus the point's condition (`target`, `rtt_ms`, `mode`, `procedure`...).
3. Add `SCENARIO = LabScenario(name, help, run, columns=(...), chart=(figure, unit))`
   to the module and its module to `scenarios.MODULES`. `columns` are the figures
   the printed table shows, in order; `chart` is the figure the admin page draws.
   `needs_root=True` makes the command refuse, in one line, to start without root.
   `speaks_to` names the row of the classic comparison the scenario proves or
   qualifies (a `compare.views.Row.key`: "scalability", "resilience"...), and
   `summary(points)` writes the one line shown beside that row from the latest
   run's points (`results.shown` writes a missing figure as "not measured").

The command then prints the table, saves the run (`compare.models.LabRun` and
`LabPoint`, shown on /admin/compare/) and, with `--json PATH`, writes the points.
"""
