"""Results of `manage.py compare`: benchmarks and fault drills, read by /admin/compare/."""

from django.db import models


class MeasurementRun(models.Model):
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Machine and run parameters: cores, Python, Django, workers, seconds per scenario...
    environment = models.JSONField(default=dict, blank=True)
    report = models.TextField(blank=True, help_text="The table the command printed.")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Measurement run #{self.pk} ({self.started_at:%Y-%m-%d %H:%M})"


class BenchmarkResult(models.Model):
    """One scenario of one run, e.g. API add-to-cart, or web add-to-cart on Redis sessions."""

    run = models.ForeignKey(MeasurementRun, on_delete=models.CASCADE, related_name="benchmarks")
    scenario = models.CharField(max_length=50)  # "bare", "drf_bare", "api_add", "web_add" ...
    channel = models.CharField(max_length=10)  # "baseline", "api" or "web"
    store = models.CharField(max_length=20, blank=True)  # session store for "web"
    requests = models.PositiveIntegerField()
    failures = models.PositiveIntegerField(default=0)
    rps = models.FloatField(help_text="Requests per second.")
    p50_ms = models.FloatField()
    p99_ms = models.FloatField()
    ratio = models.FloatField(null=True, blank=True, help_text="rps / bare Django view rps.")
    cpu_us_per_request = models.FloatField(null=True, blank=True)
    state_bytes_per_cart = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Bytes the server keeps for one 3-line cart (session data; 0 for the API).",
    )
    client_bytes_per_cart = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Bytes the client carries for that cart (session cookie, or the API token).",
    )

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        label = f"{self.scenario} ({self.store})" if self.store else self.scenario
        return f"{label}: {self.rps:.0f} req/s"


class DrillResult(models.Model):
    """One fault drill of one run: what a failure did to each channel's carts."""

    run = models.ForeignKey(MeasurementRun, on_delete=models.CASCADE, related_name="drills")
    drill = models.CharField(
        max_length=50
    )  # "restart", "store_lost", "two_instances", "key_rotation"
    channel = models.CharField(max_length=10)
    store = models.CharField(max_length=20, blank=True)
    passed = models.BooleanField(help_text="The outcome matched what the design predicts.")
    expected = models.CharField(max_length=200, blank=True)
    observed = models.CharField(max_length=200, blank=True)
    kept = models.CharField(max_length=200, blank=True)
    lost = models.CharField(max_length=200, blank=True)
    details = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.drill} / {self.channel} {self.store}".strip()


class LabRun(models.Model):
    """One `manage.py lab SCENARIO` run: its parameters and the table it printed."""

    scenario = models.CharField(max_length=30)  # "distance", "failover", "balancer" ...
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    seconds = models.PositiveIntegerField(help_text="Load per measured point.")
    environment = models.JSONField(default=dict, blank=True)
    report = models.TextField(blank=True, help_text="The table the command printed.")
    notes = models.TextField(blank=True, help_text="What could not be measured here, and why.")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Lab {self.scenario} #{self.pk} ({self.started_at:%Y-%m-%d %H:%M})"


class LabPoint(models.Model):
    """One measured point of a lab run; `figures` holds the scenario's named figures."""

    run = models.ForeignKey(LabRun, on_delete=models.CASCADE, related_name="points")
    channel = models.CharField(max_length=10)  # "web" or "api"
    store = models.CharField(max_length=30, blank=True)  # "" for the API (None in JSON)
    figures = models.JSONField(default=dict)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.run.scenario} / {self.channel} {self.store or ''}".strip()
