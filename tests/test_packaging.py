"""An installed klipstream (a wheel: the package's .py files plus its package-data) finds every file it reads.

The workflow's jobs import whichever klipstream Python finds first; in the container image that is the installed
copy in site-packages, not the source tree, so nothing may be read from outside the package folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib

from tests.helpers.workflow import ROOT


def wheel_files() -> list:
    """What setuptools puts in the wheel: every module, plus the package-data globs of pyproject.toml."""
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["klipstream"]
    package = ROOT / "klipstream"
    files = set(package.rglob("*.py"))
    for pattern in globs:
        files.update(p for p in package.glob(pattern) if p.is_file())
    return sorted(files)


def test_installed_package_reads_only_its_own_files(tmp_path):
    site = tmp_path / "site-packages"
    for path in wheel_files():
        dest = site / path.relative_to(ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path.resolve(), dest)
    probe = (
        "import klipstream, pathlib, sys\n"
        f"assert pathlib.Path(klipstream.__file__).is_relative_to({str(site)!r}), klipstream.__file__\n"
        "from klipstream.highlights import load_schema\n"
        "assert load_schema()['title']\n"
        "from klipstream.outputs import report\n"
        "from klipstream import config\n"
        "assert config.default('twitch')['gql_url']\n"
        "assert '<html' in report.TEMPLATE.read_text().lower()\n"
    )
    # Run from an empty folder with only the copied package on the path: the source tree is out of reach.
    proc = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r})\n" + probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
