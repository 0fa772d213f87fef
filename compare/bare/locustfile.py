"""Locust users for the bare baseline (run beside tests/load/locustfile.py, which records times)."""

from locust import FastHttpUser, constant, task


class BareView(FastHttpUser):
    """The cheapest Django view: no middleware, no apps."""

    wait_time = constant(0)

    @task
    def bare(self) -> None:
        self.client.get("/bare/", name="bare: django view")


class BareDrfView(FastHttpUser):
    """The same answer through a DRF APIView."""

    wait_time = constant(0)

    @task
    def bare_drf(self) -> None:
        self.client.get("/bare-drf/", name="bare: drf view")
