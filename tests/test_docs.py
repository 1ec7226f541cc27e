"""The README is the user's manual: it documents every config key and every rule, and its commands exist."""

import re

import yaml

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def config_keys(props, prefix=""):
    for key, spec in props.items():
        if spec.get("type") == "object" and "properties" in spec:
            yield from config_keys(spec["properties"], f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_every_config_key_is_documented():
    schema = yaml.safe_load((ROOT / "config/schema.yaml").read_text())
    keys = list(config_keys(schema["properties"])) + list(schema["definitions"]["highlight_params"]["properties"])
    missing = [k for k in keys if f"`{k}`" not in README and f"`{k}.*`" not in README]
    assert not missing


def test_every_rule_is_documented():
    rules = re.findall(r"^rule (\w+):", "".join(p.read_text() for p in (ROOT / "rules").glob("*.smk")), re.M)
    assert len(rules) >= 19
    assert [r for r in rules if f"`{r}`" not in README] == []


def test_the_two_commands_exist():
    makefile = (ROOT / "Makefile").read_text()
    assert "make demo" in README and "make test" in README
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "pytest" in (ROOT / ".ci/run").read_text()


def test_every_service_option_and_route_is_documented():
    import argparse

    from klipstream.service import add_arguments
    from klipstream.service.app import create_app

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = [a.option_strings[0] for a in parser._actions if a.option_strings and a.dest != "help"]
    assert [o for o in options if f"`{o}`" not in README] == []
    routes = {r.path for r in create_app(workdir=ROOT, max_jobs=0, db=":memory:").routes
              if r.path.startswith(("/api", "/health"))}
    assert len(routes) >= 8
    documented = {re.sub(r"\?.*", "", m) for m in re.findall(r"`(?:GET|POST|DELETE) (/[^`]*)`", README)}
    assert routes - documented == set()
