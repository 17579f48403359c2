"""Headless Chromium: find it, print a report to PDF."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Flags that work in containers and CI: no sandbox (often root), no GPU, no network chatter.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
)


class ChromiumError(RuntimeError):
    pass


def find_chromium() -> str | None:
    """``THEATER_CHROMIUM``, else the first Chromium/Chrome on PATH (Debian: /usr/bin/chromium)."""
    env = os.environ.get("THEATER_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html: str | Path, pdf: str | Path, *, timeout: float = 180) -> Path:
    """Print ``html`` to ``pdf`` with headless Chromium (print CSS applies, A4)."""
    exe = find_chromium()
    if exe is None:
        raise ChromiumError(
            "--pdf needs Chromium: install it (Debian: apt-get install -y "
            "chromium) or set THEATER_CHROMIUM to its path"
        )
    html, pdf = Path(html).resolve(), Path(pdf).resolve()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    if pdf.exists():
        pdf.unlink()
    with tempfile.TemporaryDirectory(prefix="theater-chromium-") as profile:
        cmd = [
            exe,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            html.as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ChromiumError(f"Chromium did not finish printing within {timeout:.0f}s") from None
    if not pdf.exists() or pdf.stat().st_size == 0:
        raise ChromiumError(
            f"Chromium did not write {pdf} (exit {proc.returncode}): {proc.stderr.strip()[-800:]}"
        )
    return pdf
