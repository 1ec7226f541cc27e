"""Atomic outputs: a target is the previous one or a complete new one, never half-written, never private."""

import os
import stat

import pytest

from klipstream.io import atomic_dir, atomic_path, write_json


class Boom(Exception):
    pass


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_atomic_path_keeps_the_old_file_when_the_block_fails(tmp_path):
    dst = tmp_path / "sub" / "a.csv"
    write_json(dst, {"v": 1})
    with pytest.raises(Boom), atomic_path(dst) as tmp:
        assert tmp.parent == dst.parent and tmp.suffix == ".csv"
        tmp.write_text("half")
        raise Boom
    assert dst.read_text() == '{\n  "v": 1\n}\n'
    assert _leftovers(dst.parent) == []


def test_atomic_dir_replaces_the_whole_folder_on_success(tmp_path):
    dst = tmp_path / "clips" / "vod"
    dst.mkdir(parents=True)
    (dst / "old_clip.mp4").write_bytes(b"old")
    with atomic_dir(dst) as tmp:
        assert tmp.parent == dst.parent and not dst.samefile(tmp)
        (tmp / "clip_01.mp4").write_bytes(b"new")
    assert sorted(p.name for p in dst.iterdir()) == ["clip_01.mp4"]  # nothing of the old folder survives
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(dst.stat().st_mode) == 0o777 & ~mask  # not mkdtemp's private 0700
    assert _leftovers(dst.parent) == []


def test_atomic_dir_keeps_the_previous_folder_when_the_block_fails(tmp_path):
    dst = tmp_path / "vod"
    dst.mkdir()
    (dst / "clip_01.mp4").write_bytes(b"previous")
    with pytest.raises(Boom), atomic_dir(dst) as tmp:
        (tmp / "clip_01.mp4").write_bytes(b"half")
        raise Boom
    assert (dst / "clip_01.mp4").read_bytes() == b"previous"
    assert _leftovers(tmp_path) == []


def test_atomic_dir_creates_nothing_when_the_first_run_fails(tmp_path):
    dst = tmp_path / "new" / "vod"
    with pytest.raises(Boom), atomic_dir(dst):
        raise Boom
    assert not dst.exists() and _leftovers(dst.parent) == []
