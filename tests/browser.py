"""A real headless Chromium for tests, driven by Selenium.

Uses Debian's `/usr/bin/chromium` and `/usr/bin/chromedriver`, passed explicitly
(`Service(executable_path=...)`, `options.binary_location`), so Selenium Manager never runs and
nothing is downloaded by a browser tool. When they are missing and the tests run as root, the
packages `chromium` and `chromium-driver` are installed with apt (`apt-get update` once per
session; slow only the first time on a machine); tests that check Chinese rendering install a CJK
font (`fonts-noto-cjk`) the same way when fontconfig knows none (`require_cjk_font`). If they
still cannot be had, the tests that need them are skipped with the reason, or fail when the
environment variable CI is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
APT_PACKAGES = ("chromium", "chromium-driver")
CJK_FONT_PACKAGES = ("fonts-noto-cjk",)
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
APT_UPDATE_TIMEOUT_S = 600
APT_INSTALL_TIMEOUT_S = 1800

_apt_updated = False


def _present() -> bool:
    return all(p.is_file() and os.access(p, os.X_OK) for p in (CHROMIUM, CHROMEDRIVER))


def _apt(*args: str, timeout: float) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    proc = subprocess.run(["apt-get", *args], capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"apt-get {' '.join(args)} exited {proc.returncode}: {' | '.join(tail)}")


def cjk_font_present() -> bool:
    """fontconfig knows a font with Chinese glyphs (what Chromium falls back to)."""
    if shutil.which("fc-list") is None:
        return False
    proc = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=60)
    return proc.returncode == 0 and bool(proc.stdout.strip())


def _apt_install(what: str, packages: tuple[str, ...], present: Any) -> str | None:
    """apt-get install `packages` (as root, `apt-get update` once); None when `present()` after."""
    global _apt_updated
    if present():
        return None
    if os.name != "posix" or os.geteuid() != 0:
        return f"{what} missing and not running as root: apt-get install -y {' '.join(packages)}"
    if shutil.which("apt-get") is None:
        return f"{what} missing and apt-get is not available"
    try:
        if not _apt_updated:
            _apt("update", timeout=APT_UPDATE_TIMEOUT_S)
            _apt_updated = True
        _apt("install", "-y", *packages, timeout=APT_INSTALL_TIMEOUT_S)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"{what} missing and could not be installed: {exc}"
    return None if present() else f"{what} still missing after apt-get install"


def ensure_chromium() -> str | None:
    """Make sure Chromium and its driver exist; None when they do, else why they do not."""
    missing = ", ".join(str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file())
    return _apt_install(missing, APT_PACKAGES, _present)


def ensure_cjk_font() -> str | None:
    """Make sure a CJK font is installed for Chromium; None when it is, else why it is not."""
    return _apt_install("a CJK font (fc-list :lang=zh)", CJK_FONT_PACKAGES, cjk_font_present)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"headless Chromium unavailable (CI is set, so this fails): {reason}")
    pytest.skip(f"headless Chromium unavailable: {reason}")


def require_cjk_font() -> None:
    """Skip (fail under CI) unless a CJK font is, or can be, installed for Chromium."""
    reason = ensure_cjk_font()
    if reason:
        _unavailable(reason)


def make_driver(user_data_dir: Path) -> Any:
    """A Selenium Chrome driver on Debian's Chromium with a fresh profile in `user_data_dir`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.add_argument("--window-size=1400,1000")
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    return driver


def chrome_driver() -> Iterator[Any]:
    """Generator body of the fixture: install if needed, start, yield, quit, remove the profile."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        _unavailable("the Python package selenium is not installed (pip install selenium)")
    reason = ensure_chromium()
    if reason:
        _unavailable(reason)
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    try:
        try:
            driver = make_driver(profile)
        except Exception as exc:  # a broken install: say so instead of erroring every test
            _unavailable(f"could not start {CHROMIUM} with {CHROMEDRIVER}: {exc}")
        try:
            yield driver
        finally:
            driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium driver shared by the tests of one module."""
    yield from chrome_driver()
