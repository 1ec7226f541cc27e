"""The documentation is the user's manual: the README is a short front page with a table of contents, and
docs/reference.md (config keys, rules), docs/service.md (options, routes) and docs/benchmarks.md (each number with
its command and date) hold the rest. Every link between them resolves. tests/test_readme_commands.py runs the
README's commands."""

import re

import yaml

from tests.helpers.workflow import ROOT

README = (ROOT / "README.md").read_text()
REFERENCE = (ROOT / "docs" / "reference.md").read_text()
SERVICE = (ROOT / "docs" / "service.md").read_text()
BENCHMARKS = (ROOT / "docs" / "benchmarks.md").read_text()


def config_keys(props, prefix=""):
    for key, spec in props.items():
        if spec.get("type") == "object" and "properties" in spec:
            yield from config_keys(spec["properties"], f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_every_config_key_is_documented():
    schema = yaml.safe_load((ROOT / "config/schema.yaml").read_text())
    keys = list(config_keys(schema["properties"])) + list(schema["definitions"]["highlight_params"]["properties"])
    missing = [k for k in keys if f"`{k}`" not in REFERENCE and f"`{k}.*`" not in REFERENCE]
    assert not missing


def test_every_rule_is_documented():
    rules = re.findall(r"^rule (\w+):", "".join(p.read_text() for p in (ROOT / "rules").glob("*.smk")), re.M)
    assert len(rules) >= 19
    assert [r for r in rules if f"`{r}`" not in REFERENCE] == []


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
    assert [o for o in options if f"`{o}`" not in SERVICE] == []
    routes = {
        r.path
        for r in create_app(workdir=ROOT, max_jobs=0, db=":memory:").routes
        if r.path.startswith(("/api", "/health"))
    }
    assert len(routes) >= 8
    documented = {re.sub(r"\?.*", "", m) for m in re.findall(r"`(?:GET|POST|DELETE) (/[^`]*)`", SERVICE)}
    assert routes - documented == set()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def test_the_readme_is_a_front_page_with_a_table_of_contents():
    assert len(README.splitlines()) < 300
    sections = re.findall(r"^## (.+)$", README, re.M)
    contents = README.split("## Contents", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"\(#([\w-]+)\)", contents)
    assert listed == [slug(s) for s in sections if s != "Contents"]


def test_every_link_between_the_docs_resolves():
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for doc in docs:
        text = doc.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            if not file.exists():
                broken.append(f"{doc.name}: {target}")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
                broken.append(f"{doc.name}: {target}")
    assert broken == []


def test_every_benchmark_says_its_command_and_date():
    sections = re.split(r"^## ", BENCHMARKS, flags=re.M)[1:]
    assert len(sections) >= 12
    for section in sections:
        title = section.splitlines()[0]
        assert re.search(r"\b20\d\d-\d\d-\d\d\b", section), title
        assert re.search(r"`[^`]*(bench/|make |bash |tests/|ffmpeg )[^`]*`", section), title
