"""`lab balancer`: three instances behind HAProxy, one killed mid-run; what the balancer hides.

For each `mode` (round robin, then sticky sessions with HAProxy's cookie) and
each session store (`locmem`: each instance's own memory; `redis`: one Redis
shared by all), a fresh fleet of three instances serves web shoppers and API
shoppers through HAProxy; halfway through, one instance is killed (SIGKILL of
its gunicorn master). Each shopper records every cart change the server
acknowledged and compares its cart with the record every few steps and at the
end. Per point: `failed` requests, `carts_lost` (shoppers whose cart lost an
acknowledged line), `moved` (shoppers served by more than one instance) and
`moved_survived` (of those, the carts that kept every line).

The lesson: round robin breaks an unshared store at once; sticky sessions hide
it until an instance dies, and then its visitors' carts are gone; a shared store,
or a token, survives both.
"""

from __future__ import annotations

import threading

from compare.lab.fleet import ApiShopper, WebShopper, catalogue, shop_for, start_fleet, totals
from compare.lab.haproxy import MODES
from compare.lab.results import Point, RunContext, shown
from compare.lab.scenarios import LabScenario
from compare.lab.topology import Lab

NAME = "balancer"
INSTANCES = 3
STORES = ("locmem", "redis")
FIGURES = ("requests", "failed", "server_errors", "carts_lost", "moved", "moved_survived")


def run(lab: Lab, ctx: RunContext) -> list[Point]:
    ctx.say("Starting PostgreSQL and Redis ...")
    database = lab.postgres()
    redis = lab.redis("redis")
    ctx.say("Migrating and seeding the lab's database ...")
    lab.prepare_shop(database)
    products = catalogue(lab)
    shoppers_each = max(ctx.users // 2, 1)

    points = []
    for mode in MODES:
        for store in STORES:
            # Local memory is per process: one worker per instance, or one instance would
            # already split a visitor's session between its workers.
            env = (
                lab.shop_env(store="cache")
                if store == "locmem"
                else lab.shop_env(store="cache", redis=redis)
            )
            label = f"{mode}, {store}"
            ctx.say(f"Starting {INSTANCES} instances ({store} sessions), HAProxy {mode} ...")
            fleet = start_fleet(lab, f"{mode}-{store}", env, count=INSTANCES, mode=mode)
            web = [WebShopper(fleet.url, products) for _ in range(shoppers_each)]
            api = [ApiShopper(fleet.url, products) for _ in range(shoppers_each)]
            victim = fleet.instances[0]
            killer = threading.Timer(ctx.seconds / 2, victim.kill_master)
            killer.start()
            try:
                shop_for(web + api, seconds=ctx.seconds, progress=ctx.progress(label))
            finally:
                killer.cancel()
                killer.join()
            condition = {"mode": mode, "killed": victim.name, "instances": INSTANCES}
            points.append(Point(NAME, "web", store, {**condition, **totals(web, FIGURES)}))
            # The API keeps no session: the store under it is named, never used.
            api_point = Point(NAME, "api", None, {**condition, **totals(api, FIGURES)})
            api_point.note = f"instances configured with {store} sessions"
            points.append(api_point)
    return points


def summary(points) -> str:
    """Web carts lost per mode and store, one instance killed halfway; the API's in one figure."""
    web = [
        f"{p.figures.get('mode')} on {p.store}: {shown(p.figures.get('carts_lost'))} carts lost "
        f"({shown(p.figures.get('moved_survived'))} of {shown(p.figures.get('moved'))} "
        "that moved instances kept)"
        for p in points
        if p.channel == "web"
    ]
    api = [p.figures.get("carts_lost") for p in points if p.channel == "api"]
    said = ["one of 3 instances killed halfway: web " + "; ".join(web)] if web else []
    if api:
        lost = None if None in api else sum(api)
        said.append(f"API: {shown(lost)} carts lost over {len(api)} runs")
    return " · ".join(said)


SCENARIO = LabScenario(
    name=NAME,
    help="web and API shoppers through HAProxy to 3 instances, round robin then sticky, "
    "one instance killed mid-run",
    run=run,
    columns=("mode", *FIGURES),
    chart=("carts_lost", "carts"),
    speaks_to="scalability",
    summary=summary,
    tools=("redis-server", "initdb", "postgres", "haproxy"),
)
