"""`manage.py compare` in a virtualenv without locust says what to run instead."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# manage.py, with locust not importable, as in the virtualenv `make run` creates.
WITHOUT_LOCUST = """
import sys
sys.modules["locust"] = None
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "compare", "--only", "drills", "--no-save"])
"""


def test_compare_without_locust_names_make_compare_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_LOCUST],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "CommandError: compare drives its load with locust, which is not installed: run "
        "`make compare`, which installs it (requirements-dev.txt) and runs compare."
    ]


def test_compare_help_works_with_the_measurement_tools():
    result = subprocess.run(
        [sys.executable, "manage.py", "compare", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
