"""The dependency list is written once (pyproject.toml) and says what the code uses: every third-party import of the
package is declared, every declared runtime dependency is imported, and envs/klipstream.yaml is generated from it."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from devtools import conda_env
from tests.helpers.workflow import ROOT

# Declared but not imported by the package, on purpose: the workflow engine the package runs under, and plugins.
USED_OUTSIDE_IMPORTS = {
    "snakemake",
    # OpenTimelineIO's EDL and FCP XML adapters: plugins its adapter registry loads by name
    "otio-cmx3600-adapter",
    "otio-fcp-adapter",
}
# `google` is a namespace shared by several distributions: the second part of the module names which one.
GOOGLE = {"cloud": "google-cloud-storage", "api_core": "google-api-core", "auth": "google-auth"}


def declared() -> set[str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {re.match(r"[A-Za-z0-9_.-]+", d).group(0).lower().replace("_", "-") for d in deps}


def imported_distributions() -> set[str]:
    modules = set()
    for path in [*(ROOT / "klipstream").rglob("*.py"), *(ROOT / "scripts").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module)
    google = {GOOGLE[m.split(".")[1]] for m in modules if m.startswith("google.")}
    modules = {m.split(".")[0] for m in modules if not m.startswith("google.")}
    third_party = {m for m in modules - set(sys.stdlib_module_names) if m not in ("klipstream", "__future__")}
    owners = packages_distributions()
    return (
        {owners[m][0].lower().replace("_", "-") for m in third_party if m in owners}
        | {m for m in third_party if m not in owners}
        | google
    )


def test_every_import_is_declared_and_every_dependency_imported():
    have, used = declared(), imported_distributions()
    assert used - have == set(), "imported but not declared in pyproject.toml"
    assert have - used - USED_OUTSIDE_IMPORTS == set(), "declared but never imported"


def test_conda_environment_is_generated_from_pyproject():
    assert (ROOT / "envs" / "klipstream.yaml").read_text() == conda_env.render(), (
        "envs/klipstream.yaml is stale: run `python -m devtools.conda_env`"
    )
