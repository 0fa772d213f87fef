"""The shop's load scenarios, for locust by hand; they live in compare/measure/locustfile.py.

locust -f tests/load/locustfile.py --host http://127.0.0.1:8000 --web-host 127.0.0.1
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from compare.measure.locustfile import ApiShopper, WebShopper

__all__ = ["ApiShopper", "WebShopper"]
