"""The report page in headless Chromium: it renders, every image loads, no console output.

Runs in the normal test command. CI installs Debian's ``chromium`` (see ``.ci/run``); on a
machine without any Chromium binary the test is skipped and says why. Set
``TASKONOMY_CHROMIUM`` to use another binary; ``TASKONOMY_REQUIRE_CHROMIUM=1`` (set by CI)
turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from matplotlib.image import imread

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    explicit = os.environ.get("TASKONOMY_CHROMIUM")
    if explicit:
        return explicit
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


@pytest.fixture(scope="module")
def chromium() -> str:
    binary = find_chromium()
    if binary is None and os.environ.get("TASKONOMY_REQUIRE_CHROMIUM") == "1":
        pytest.fail("TASKONOMY_REQUIRE_CHROMIUM=1 but no Chromium binary is on PATH")
    if binary is None:
        pytest.skip(
            "no Chromium binary on PATH (looked for " + ", ".join(CANDIDATES) + "); install "
            "Debian's chromium (apt-get install -y chromium) or set TASKONOMY_CHROMIUM"
        )
    return binary


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A private profile per call: no lock contention with another Chromium, no state kept.
    command = [
        binary,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console_lines(stderr: str) -> list[str]:
    """Messages the page wrote to the console (console.*, uncaught errors)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_report_renders_in_headless_chromium(
    chromium: str, mini_report: Path, tmp_path: Path
) -> None:
    url = mini_report.resolve().as_uri()
    n_images = mini_report.read_text(encoding="utf-8").count("<img ")
    assert n_images >= 8

    dom = run_chromium(
        chromium, tmp_path / "profile-dom", "--window-size=1400,2000", "--dump-dom", url
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    root = re.search(r"<html[^>]*>", dom.stdout)
    assert root is not None, dom.stdout[:500]
    assert f'data-images-loaded="{n_images}/{n_images}"' in root.group(0), root.group(0)
    assert 'data-errors="0"' in root.group(0), root.group(0)
    # Figures are sized for the page: in a desktop window none is shrunk, so their text
    # shows at the sizes tests/reports/test_figure_layout.py checks.
    scale = re.search(r'data-image-scale="([0-9.]+)"', root.group(0))
    assert scale is not None and float(scale.group(1)) >= 0.999, root.group(0)
    assert console_lines(dom.stderr) == []

    shot = tmp_path / "report.png"
    result = run_chromium(
        chromium,
        tmp_path / "profile-shot",
        f"--screenshot={shot}",
        "--window-size=1400,2000",
        url,
    )
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    assert console_lines(result.stderr) == []
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1400)
    assert float(pixels.std()) > 0.05, "the screenshot is (nearly) one colour"
    assert float((pixels.mean(axis=2) < 0.8).mean()) > 0.02, "the screenshot is nearly empty"
    keep = os.environ.get("TASKONOMY_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)


def test_console_check_catches_page_errors(chromium: str, tmp_path: Path) -> None:
    """The check above would notice a broken page (guards against a silent no-op)."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>undefinedFunction();</script></body></html>")
    result = run_chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert any("undefinedFunction" in line for line in console_lines(result.stderr))
