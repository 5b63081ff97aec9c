"""A real client from the npm registry for end-to-end tests, pinned and cached outside the
repository: found if installed, else installed by its script in scripts/ (npm and its registry
permitting), else the reason a test skips with."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cache_dir(name: str, version: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "session-archive-tests" / f"{name}-{version}"


def client_or_reason(*, package: str, version: str, name: str, binary: str, installer: str,
                     version_env: str, label: str) -> tuple[Path | None, str]:
    """The pinned ``binary`` of ``package`` (installed now by ``scripts/<installer>`` if
    absent), or why there is none."""
    exe = cache_dir(name, version) / "node_modules/.bin" / binary
    if exe.exists():
        return exe, ""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return None, f"{tool} is not installed: {label} {version} cannot be installed"
    try:
        probe = subprocess.run(["npm", "view", f"{package}@{version}", "version"],
                               capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None, "the npm registry did not answer within 60 s"
    if probe.returncode != 0 or version not in probe.stdout:
        return None, f"the npm registry does not offer {package}@{version}"
    result = subprocess.run(["sh", str(REPO / "scripts" / installer)], capture_output=True,
                            text=True, timeout=900, env=os.environ | {version_env: version})
    if result.returncode != 0 or not exe.exists():
        return None, f"installing {label} {version} failed: {result.stderr.strip()[-300:]}"
    return exe, ""
