"""The README's picture: a screenshot of a built report (the demo's, after `make demo`) in headless chromium.

    .venv/bin/python -m devtools.screenshot                      # output/report/demo.html -> docs/report_screenshot.png
    .venv/bin/python -m devtools.screenshot REPORT.html OUT.png --height 1600

The report is self-contained, so the browser runs with the network off (--no-proxy-server, no remote fonts)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def screenshot(report: Path, out: Path, width: int = 1400, height: int = 1250) -> Path:
    browser = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        raise SystemExit("no chromium on PATH (apt-get install chromium)")
    if not report.is_file():
        raise SystemExit(f"report not found: {report} (build it first: make demo)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="klip-shot-") as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-proxy-server",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "--virtual-time-budget=3000",  # let the report's script draw the timeline before the shot
                f"--screenshot={out.resolve()}",
                report.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report", nargs="?", type=Path, default=ROOT / "output" / "report" / "demo.html")
    ap.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "report_screenshot.png")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1250)
    args = ap.parse_args()
    print(screenshot(args.report, args.out, args.width, args.height))


if __name__ == "__main__":
    main()
