"""The seam between rules and scripts: every `snakemake.input/output/params/log/wildcards` name a script reads is
declared by the rule that runs it. Checked on the workflow as Snakemake parses it (its own API: rules, input
functions and `unpack()` evaluated for real VODs of every kind), not on the .smk text. Runs in a few seconds."""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from snakemake.api import SnakemakeApi
from snakemake.iocontainers import Wildcards
from snakemake.settings.types import ConfigSettings, OutputSettings, Quietness, ResourceSettings

from klipstream.transcribe.scatter import PLAN_VERSION
from tests.helpers.workflow import ROOT

SECTIONS = ("input", "output", "params", "log", "wildcards")
NAMEDLIST_METHODS = {"get", "keys", "items", "values"}


@dataclass(frozen=True)
class Read:
    section: str
    name: str | None  # None: by position (snakemake.log[0]) or the whole section
    conditional: bool  # inside an if: needs declaring for some VODs, not all
    line: int


def script_reads(source: str) -> list[Read]:
    """Every `snakemake.<section>...` a script reads, by name."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def guarded(node: ast.AST) -> bool:
        while node in parents:
            parent = parents[node]
            if isinstance(parent, (ast.If, ast.IfExp)) and node is not parent.test:
                return True
            node = parent
        return False

    reads = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "snakemake"
            and node.attr in SECTIONS
        ):
            continue
        parent = parents.get(node)
        name, optional = None, False
        if isinstance(parent, ast.Attribute) and parent.attr not in NAMEDLIST_METHODS:
            name = parent.attr
        elif isinstance(parent, ast.Subscript) and isinstance(parent.slice, ast.Constant):
            name = parent.slice.value if isinstance(parent.slice.value, str) else None
        elif isinstance(parent, ast.Attribute) and parent.attr == "get":
            call = parents.get(parent)
            if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant):
                name, optional = call.args[0].value, True
        reads.append(Read(node.attr, name, optional or guarded(node), node.lineno))
    return reads


def test_script_reads_sees_every_kind_of_access():
    source = (
        "with job(snakemake):\n"
        "    f(snakemake.input.wav, snakemake.params['url'], snakemake.output[0], snakemake.log[0])\n"
        "    if 'video' in snakemake.input.keys():\n"
        "        g(snakemake.input.video)\n"
        "    h(snakemake.input.get('words'), snakemake.params.retries)\n"
    )
    found = {(r.section, r.name, r.conditional) for r in script_reads(source)}
    assert found == {
        ("input", "wav", False),
        ("params", "url", False),
        ("output", None, False),
        ("log", None, False),
        ("input", None, False),
        ("input", "video", True),
        ("input", "words", True),
        ("params", "retries", False),
    }


def parsed_rules(workdir: Path, config: dict) -> list:
    """The workflow's rules as Snakemake parses them, with `config` overriding config/config.yaml."""
    cwd = os.getcwd()
    try:
        with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
            workflow = api.workflow(
                ResourceSettings(cores=1),
                ConfigSettings(configfiles=[ROOT / "config" / "config.yaml"], config=config),
                snakefile=ROOT / "Snakefile",
                workdir=workdir,
            )._workflow
            # Checkpoints count as done for the VODs whose plan exists (written by the fixture), so input functions
            # that read a checkpoint's output (the transcription's parts) are evaluated too.
            workflow.checkpoints.created_output.update(
                str(p.relative_to(workdir)) for p in workdir.glob("output/raw/transcripts/parts/*/plan.json")
            )
            return list(workflow.rules)
    finally:
        os.chdir(cwd)


def declared(rule, vod: str) -> dict[str, set[str]] | None:
    """The names a job of `rule` for `vod` is given, or None when the VOD cannot have that job (no such input)."""
    values = {"vod": vod, "part": "0", "side": "chat"}
    wildcards = Wildcards(fromdict={name: values[name] for name in rule.wildcard_names})
    try:
        inputs = rule.expand_input(wildcards)[0]
    except Exception:  # an input function refusing the VOD: e.g. a chat-only VOD has no video to fetch
        return None
    outputs = rule.expand_output(wildcards)[0]
    params = rule.expand_params(wildcards, inputs, outputs, None)
    log = rule.expand_log(wildcards)
    params, log = (x[0] if isinstance(x, tuple) else x for x in (params, log))
    return {
        "input": set(inputs._names),
        "output": set(outputs._names),
        "params": set(params._names),
        "log": set(log._names) | ({None} if len(log) else set()),
        "wildcards": set(rule.wildcard_names),
    }


def declared_in(workdir: Path, rule, vod: str) -> dict[str, set[str]] | None:
    """`declared` from the workdir, where the input functions read checkpoint outputs."""
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        return declared(rule, vod)
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> dict[str, list[dict]]:
    """rule name -> (script path, declared names) for every kind of VOD: local video + chat, chat only, video only,
    a Twitch id not in the table, with the video downloaded and with the audio-only download, and with each
    transcription backend (the offline one with a finished transcription plan)."""
    work = tmp_path_factory.mktemp("seam")
    for name in ("v.mp4", "c.json"):
        (work / name).write_text("")
    (work / "vods.tsv").write_text(
        "vod_id\turl\tvideo\tchat\ttitle\n"
        f"both\t\t{work}/v.mp4\t{work}/c.json\tBoth\n"
        f"chatonly\t\t\t{work}/c.json\tChat\n"
        f"videoonly\t\t{work}/v.mp4\t\tVideo\n"
        "url\thttps://www.twitch.tv/videos/77\t\t\tURL\n"
    )
    for vod in ("both", "videoonly", "url", "2345678901"):  # a transcription plan of two parts each
        plan = work / "output/raw/transcripts/parts" / vod / "plan.json"
        plan.parent.mkdir(parents=True)
        plan.write_text(
            json.dumps({"version": PLAN_VERSION, "groups": [{"first": 0, "last": 1}, {"first": 1, "last": 2}]})
        )
    found: dict[str, list] = {}
    for download_video, backend in ((True, "offline"), (False, "offline"), (True, "deepgram")):
        rules = parsed_rules(
            work,
            {
                "vods": str(work / "vods.tsv"),
                "download": {"video": download_video},
                "transcription": {"backend": backend},
            },
        )
        for rule in rules:
            if not rule.script:
                continue
            script = (ROOT / "rules" / rule.script).resolve()
            for vod in ("both", "chatonly", "videoonly", "url", "2345678901"):
                names = declared_in(work, rule, vod)
                if names is not None:
                    found.setdefault(rule.name, []).append({"script": script, "vod": vod, **names})
    return found


def test_every_rule_with_a_script_was_seen(jobs):
    scripts = {p.name for p in (ROOT / "scripts").glob("*.py")}
    assert {variants[0]["script"].name for variants in jobs.values()} == scripts


def test_every_name_a_script_reads_is_declared_by_its_rule(jobs):
    problems = []
    for rule, variants in sorted(jobs.items()):
        script = variants[0]["script"]
        for read in script_reads(script.read_text()):
            if read.name is None and read.section != "log":
                continue
            have = [read.name in v[read.section] for v in variants]
            ok = any(have) if read.conditional else all(have)
            if not ok:
                missing_for = sorted({v["vod"] for v, h in zip(variants, have) if not h})
                problems.append(
                    f"scripts/{script.name}:{read.line} reads snakemake.{read.section}."
                    f"{read.name if read.name is not None else '[0]'}, which rule {rule} does not declare"
                    f" (VODs: {', '.join(missing_for)})"
                )
    assert not problems, "\n".join(problems)


def test_every_script_runs_inside_the_job_glue(jobs):
    """`klipstream.smk.job` sends the log to snakemake.log[0], reports the status and turns errors into one line."""
    for variants in jobs.values():
        source = variants[0]["script"].read_text()
        assert "with job(snakemake" in source, variants[0]["script"].name
