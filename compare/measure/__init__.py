"""Measuring the two channels: gunicorn servers, locust runs, fault drills and the report."""
