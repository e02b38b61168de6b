"""Full-page PNGs of the site's pages in docs/screenshots/ (run with `make screenshots`).

Starts `aims serve` with the example organisation on a free port in a temporary data folder and
shoots each page that answers 200 with Debian's headless chromium (see tests/browser.py).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the helpers in tests/ (run as a script, not as a package)

from service.resources import example_files  # noqa: E402
from tests.browser import browser, chromium_missing, http_get, screenshot  # noqa: E402
from tests.servers import aims_server  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
AS_OF = "2026-11-20"  # the example's audit day: the same pictures whenever they are taken
PATHS = {
    "dashboard": "/",
    "systems": "/systems",
    "risks": "/risks",
    "controls": "/controls",
    "soa": "/soa",
    "documents": "/documents",
    "audits": "/audits",
    "findings": "/findings",
    "parties": "/parties",
    "roles": "/roles",
    "validation": "/validation",
    "gap-analysis": "/gap-analysis",
    "risk-trace": "/trace/risk?iri=https://aurora-lending.example/aims/risk-01",
    "control-trace": "/trace/control?iri=https://w3id.org/aims/iso42001%23A.6.2.4",
}


def main() -> int:
    if why := chromium_missing():
        print(f"screenshots: {why}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder, aims_server(Path(folder), example_files()) as port:
        base = f"http://127.0.0.1:{port}"
        with browser() as driver:
            for name, path in PATHS.items():
                url = urljoin(base, f"{path}{'&' if '?' in path else '?'}as_of={AS_OF}")
                status, kind = http_get(url)
                if status != 200 or "html" not in kind:  # a JSON report is no page to show
                    print(f"skipped {path}: {status} {kind}")
                    continue
                print(screenshot(driver, url, OUT / f"{name}.png").relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
