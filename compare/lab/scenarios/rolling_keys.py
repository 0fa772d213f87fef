"""`lab rolling-keys`: a new cart token key and Django secret key, rolled one instance at a time.

Three instances behind HAProxy (round robin, database sessions) serve web and
API shoppers while the keys are rolled, one instance restarted at a time (taken
out of HAProxy's rotation before it stops and put back once it answers, so a
restart itself costs no request):

- `naive`: each instance in turn goes straight to signing with the new keys
  (`CART_TOKEN_KEYS=new,old`, `DJANGO_SECRET_KEY=new` with the old one in
  `DJANGO_SECRET_KEY_FALLBACKS`), while the instances not yet restarted do not
  know them;
- `two-phase`: first every instance learns the new keys without signing with
  them (`CART_TOKEN_VERIFY_KEYS=new`, the new secret in the fallbacks), then every
  instance switches to signing with them.

Per procedure and channel: `requests`, `refused_401` (API tokens refused: the
naive roll shows them, the two-phase roll none) and `carts_lost` (shoppers whose
cart lost acknowledged lines: a database session signed with a secret an
instance does not know reads as empty there), `failed` (requests without a
good answer: the naive roll's refusals, nothing else) and `server_errors` (0:
the keys decide what fails, never the restarts).
"""

from __future__ import annotations

import secrets
import threading

from compare.lab.fleet import ApiShopper, WebShopper, catalogue, shop_for, start_fleet, totals
from compare.lab.results import Point, RunContext, shown
from compare.lab.scenarios import LabScenario
from compare.lab.topology import Lab
from compare.measure.servers import new_key

NAME = "rolling-keys"
INSTANCES = 3
PROCEDURES = ("naive", "two-phase")
FIGURES = ("requests", "refused_401", "carts_lost", "failed", "server_errors")


def key_phases() -> dict[str, dict[str, str]]:
    """The fleet's key settings before, while learning, and after the roll."""
    old_token, new_token = new_key("old"), new_key("new")
    old_secret, new_secret = secrets.token_urlsafe(50), secrets.token_urlsafe(50)
    return {
        "old": {
            "CART_TOKEN_KEYS": old_token,
            "CART_TOKEN_VERIFY_KEYS": "",
            "DJANGO_SECRET_KEY": old_secret,
            "DJANGO_SECRET_KEY_FALLBACKS": "",
        },
        "learn": {
            "CART_TOKEN_KEYS": old_token,
            "CART_TOKEN_VERIFY_KEYS": new_token,
            "DJANGO_SECRET_KEY": old_secret,
            "DJANGO_SECRET_KEY_FALLBACKS": new_secret,
        },
        "new": {
            "CART_TOKEN_KEYS": f"{new_token},{old_token}",
            "CART_TOKEN_VERIFY_KEYS": "",
            "DJANGO_SECRET_KEY": new_secret,
            "DJANGO_SECRET_KEY_FALLBACKS": old_secret,
        },
    }


def roll(procedure: str) -> list[tuple[int, str]]:
    """The steps of a roll: (instance index, phase it is restarted with)."""
    one_by_one = range(INSTANCES)
    if procedure == "naive":
        return [(index, "new") for index in one_by_one]
    return [(index, "learn") for index in one_by_one] + [(index, "new") for index in one_by_one]


def run(lab: Lab, ctx: RunContext) -> list[Point]:
    ctx.say("Starting PostgreSQL ...")
    database = lab.postgres()
    ctx.say("Migrating and seeding the lab's database ...")
    lab.prepare_shop(database)
    products = catalogue(lab)
    shoppers_each = max(ctx.users // 2, 1)
    points = []
    for procedure in PROCEDURES:
        phases = key_phases()
        base = lab.shop_env(store="db")
        ctx.say(
            f"Starting {INSTANCES} instances with the old keys behind HAProxy ({procedure}) ..."
        )
        fleet = start_fleet(lab, procedure, {**base, **phases["old"]}, count=INSTANCES)
        web = [WebShopper(fleet.url, products) for _ in range(shoppers_each)]
        api = [ApiShopper(fleet.url, products) for _ in range(shoppers_each)]
        steps = roll(procedure)
        rolled = threading.Event()
        hold = max(ctx.seconds / len(steps), 1.0)

        def roller(steps=steps, fleet=fleet, phases=phases, base=base, rolled=rolled, hold=hold):
            try:
                for index, phase in steps:
                    server = fleet.instances[index]
                    # Out of rotation first, so that stopping it resets no request.
                    fleet.balancer.take_out(server.name)
                    server.restart(env={**base, **phases[phase]})
                    fleet.balancer.put_back(server.name)
                    rolled.wait(hold)  # the fleet serves in this mixed state for a while
            finally:
                rolled.set()

        thread = threading.Thread(target=roller, daemon=True)
        thread.start()
        # Bounded: the roll's own time plus restarts, at most ten minutes.
        shop_for(
            web + api,
            seconds=min(len(steps) * (hold + 30), 600),
            max_steps=2000,
            until=rolled.is_set,
            progress=ctx.progress(f"{procedure} roll"),
        )
        rolled.set()
        thread.join(timeout=60)
        condition = {"procedure": procedure, "steps": len(steps)}
        points.append(Point(NAME, "web", "db", {**condition, **totals(web, FIGURES)}))
        points.append(Point(NAME, "api", None, {**condition, **totals(api, FIGURES)}))
    return points


def summary(points) -> str:
    """Per procedure: API requests refused, web carts lost, answers of 5xx."""
    said = []
    for procedure in PROCEDURES:
        of = {p.channel: p.figures for p in points if p.figures.get("procedure") == procedure}
        if not of:
            continue
        api, web = of.get("api", {}), of.get("web", {})
        errors = [f.get("server_errors") for f in of.values()]
        said.append(
            f"{procedure} roll: {shown(api.get('refused_401'))} of "
            f"{shown(api.get('requests'))} API requests refused with 401, "
            f"{shown(web.get('carts_lost'))} web carts lost, "
            f"{shown(None if None in errors else sum(errors))} answers of 5xx"
        )
    return "; ".join(said)


SCENARIO = LabScenario(
    name=NAME,
    help="the cart token key and the Django secret key rolled across 3 instances, "
    "naive and in two phases, under load",
    run=run,
    columns=("procedure", "steps", *FIGURES),
    chart=("refused_401", "requests"),
    speaks_to="complexity",
    summary=summary,
    tools=("initdb", "postgres", "haproxy"),
)
