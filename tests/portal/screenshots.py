"""Regenerate the README's portal screenshots (``docs/screenshots/*.png``).

    .venv/bin/python tests/portal/screenshots.py

Runs the Chromium journey test on SQLite with ``TENANTRY_DOCS_SCREENSHOTS=1`` (it copies its
900px-wide page shots into ``docs/screenshots/``), then shrinks them with ``pngquant`` when it is
installed (``apt-get install pngquant``; a 256-colour palette keeps text sharp at a third of the size).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs" / "screenshots"
TEST = "tests/portal/test_journey.py::test_clinic_journey_in_chromium[sqlite]"


def main() -> int:
    env = {**os.environ, "TENANTRY_DOCS_SCREENSHOTS": "1", "TENANTRY_REQUIRE_CHROMIUM": "1"}
    pytest = [sys.executable, "-m", "pytest", TEST, "-q", "-n", "0", "-p", "no:cacheprovider"]
    run = subprocess.run(pytest, cwd=REPO_ROOT, env=env)
    if run.returncode != 0:
        return run.returncode
    pictures = sorted(DOCS.glob("*.png"))
    pngquant = shutil.which("pngquant")
    if pngquant is None:
        print("pngquant not installed: screenshots left uncompressed", file=sys.stderr)
    else:
        for picture in pictures:
            subprocess.run(
                [
                    pngquant,
                    "--force",
                    "--skip-if-larger",
                    "--strip",
                    "--quality=70-95",
                    "--output",
                    str(picture),
                    str(picture),
                ],
                check=False,
            )
    for picture in pictures:
        print(f"{picture.relative_to(REPO_ROOT)}  {picture.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
