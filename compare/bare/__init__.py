"""A bare Django project for the baseline: one plain view, no apps, no middleware."""
