"""`make run` installs requirements.txt only: every module the site can import must work with it.

The admin's comparison page imports the measurement and lab modules (for their
scenarios and result tables), so a package they import at the top is a runtime
requirement, not a development tool. The check imports every module of the project
in a fresh interpreter where the development-only packages cannot be imported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "shop", "api", "compare")
# Never imported by the site: run by locust in its own process (compare/measure/load.py),
# or the bare and twin projects, each served with its own settings by its own gunicorn.
NOT_THE_SITE = ("compare.measure.locustfile", "compare.bare")

CHECK = """
import importlib, os, pkgutil, sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # `import name` now raises ImportError
import django
django.setup()
failed = []
for package in {packages!r}:
    modules = [package]
    path = importlib.import_module(package).__path__
    modules += [m.name for m in pkgutil.walk_packages(path, package + ".")]
    for module in modules:
        if module.startswith({not_the_site!r}):
            continue
        try:
            importlib.import_module(module)
        except ImportError as error:
            failed.append(f"{{module}}: {{error}}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\s=<>~!;\[]", line, maxsplit=1)[0].lower())
    return names


def dev_only_imports() -> list[str]:
    """The import names of the packages requirements-dev.txt adds (each is its name on PyPI)."""
    dev = requirement_names(ROOT / "requirements-dev.txt")
    runtime = requirement_names(ROOT / "requirements.txt")
    return sorted(name.replace("-", "_") for name in dev - runtime)


def test_the_development_tools_are_not_runtime_requirements():
    assert {"locust", "pytest", "playwright", "hypothesis"} <= set(dev_only_imports())


def test_every_module_of_the_site_imports_with_the_runtime_requirements_only(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    check = CHECK.format(packages=PACKAGES, not_the_site=NOT_THE_SITE)
    result = subprocess.run(
        [sys.executable, "-c", check, ",".join(dev_only_imports())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
