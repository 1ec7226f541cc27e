"""The dependency list is written once (pyproject.toml) and says what the code uses: every third-party import of the
package is declared, every declared runtime dependency is imported, and envs/klipstream.yaml is generated from it."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from devtools import conda_env, lock
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


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements(specs: list[str]):
    from packaging.requirements import Requirement

    return [Requirement(spec) for spec in specs]


def test_the_locks_agree_with_pyproject():
    """Every dependency of pyproject.toml is locked at a version it allows (the runtime ones in requirements.lock,
    the dev ones too in requirements-dev.lock), every locked line has hashes, and the two locks agree on every
    version they share; else `make lock` has not been run since pyproject.toml changed."""
    runtime, dev = lock.locked(lock.RUNTIME_LOCK), lock.locked(lock.DEV_LOCK)
    project = _project()
    for locked_versions, specs, path in (
        (runtime, project["dependencies"], lock.RUNTIME_LOCK),
        (dev, project["dependencies"] + project["optional-dependencies"]["dev"], lock.DEV_LOCK),
    ):
        for req in _requirements(specs):
            name = lock.normalise(req.name)
            if req.url:  # pinned by URL and hash (the bundled Whisper model): the lock has the same URL
                assert f"{req.name} @ {req.url}" in path.read_text(), f"{req.name} is not locked: run `make lock`"
                continue
            assert name in locked_versions, f"{req.name} is not locked: run `make lock`"
            assert req.specifier.contains(locked_versions[name], prereleases=True), (
                f"{req.name}=={locked_versions[name]} is locked, pyproject.toml asks {req.specifier}: run `make lock`"
            )
    assert {name: dev[name] for name in runtime if dev.get(name) != runtime[name]} == {}
    for path in (lock.RUNTIME_LOCK, lock.DEV_LOCK, lock.CLUSTER_LOCK):
        for name, text in lock.blocks(path.read_text()):
            assert name is None or "--hash=sha256:" in text, f"{path.name}: {name} has no hash"
    for req in _requirements([line for line in lock.CLUSTER_IN.read_text().splitlines() if line and line[0] != "#"]):
        version = lock.locked(lock.CLUSTER_LOCK).get(lock.normalise(req.name))
        assert version and req.specifier.contains(version), f"{req.name} is not locked in {lock.CLUSTER_LOCK.name}"


def test_the_venv_has_exactly_the_locked_versions():
    """`make install` installs requirements-dev.lock: every locked package is installed at its locked version."""
    from importlib.metadata import PackageNotFoundError, version

    wrong = {}
    for name, locked_version in lock.locked(lock.DEV_LOCK).items():
        try:
            have = version(name)
        except PackageNotFoundError:
            have = None
        if have != locked_version:
            wrong[name] = (locked_version, have)
    assert wrong == {}, "(locked, installed) differ: run `make install`"


def test_conda_environment_is_pinned_to_the_lock():
    text = (ROOT / "envs" / "klipstream.yaml").read_text()
    runtime = lock.locked(lock.RUNTIME_LOCK)
    for name in ("numpy", "scikit-learn", "skops", "deepgram-sdk"):
        assert f"{name}=={runtime[name]}\n" in text.replace("vaderSentiment", "vadersentiment")
