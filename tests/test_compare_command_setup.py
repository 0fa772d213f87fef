"""`manage.py compare` in a virtualenv without the measurement tools says what to run instead."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_compare_without_the_measurement_tools_names_make_compare_in_one_line(tmp_path):
    # A `requests` that cannot be imported, as in the virtualenv `make run` creates.
    (tmp_path / "requests").mkdir()
    (tmp_path / "requests" / "__init__.py").write_text(
        "raise ModuleNotFoundError('No requests here', name='requests')\n"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "compare", "--help"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "DJANGO_DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "manage.py compare needs the measurement tools (requests is not installed): run "
        "`make compare`, which installs them (requirements-dev.txt) and runs it."
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
