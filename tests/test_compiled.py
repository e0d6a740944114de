"""The compiled core (setup.py, feeds/core/compiled.py): same flags as the .py, never stale."""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path

import pytest

from feeds.core import buildinfo, compiled

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo_data" / "floor40.jsonl.gz"
FLOORWATCH = Path(sys.executable).with_name("floorwatch")


def _replay(pure: bool, path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != compiled.PURE_ENV}
    if pure:
        env[compiled.PURE_ENV] = "1"
    return subprocess.run([str(FLOORWATCH), "replay", str(path), "--fast", "--json"],
                          capture_output=True, text=True, timeout=300, env=env, check=True)


def test_what_make_test_runs_is_built_from_the_sources_on_disk() -> None:
    assert compiled.stale_extensions() == [], "run `make build`: the compiled core is stale"


def test_the_compiled_modules_are_those_with_a_pxd() -> None:
    names = set(compiled.compiled_sources())
    assert {"feeds.core.protocol", "feeds.core.recording", "feeds.core.voice", "feeds.core.engine",
            "feeds.core.replay"} == names


def test_pure_and_compiled_cores_raise_identical_flags_on_the_demo_floor() -> None:
    pure, fast = _replay(True, DEMO), _replay(False, DEMO)
    assert pure.stdout.count("\n") > 100
    assert fast.stdout == pure.stdout
    assert fast.stderr.splitlines()[-1] == pure.stderr.splitlines()[-1]  # the summary line
    expected = DEMO.with_name("floor40.expected.jsonl").read_text()
    assert fast.stdout == expected


def test_pure_and_compiled_cores_report_bad_input_alike(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"type":"call_start","call":"c1","t":1.0,"agent":"a1","team":"t1"}\n'
        '{"type":"sample","call":"c1","t":1.25,"dt":0.25,"cust_db":"loud"}\n'
        '{"type":"sample","call":"c1","t":1.5,"dt":0.25,"cust_db":1e999}\n'
        '{"type":"sample","call":"c9","t":1.5,"dt":0.25,"cust_db":-20.0}\n'
        '{"type":"sample","call":"c1","t":1.75,"dt":0.25,"cust_db":-20.0,"agent_db":null}\n'
    )
    pure, fast = _replay(True, path), _replay(False, path)
    assert fast.stderr == pure.stderr
    assert "line 2: sample.cust_db: expected number or null, got 'loud'" in fast.stderr
    assert "line 3: sample.cust_db: expected number or null, got inf" in fast.stderr
    assert "line 4: sample.call: unknown call 'c9'" in fast.stderr
    assert "3 errors" in fast.stderr


def test_pure_python_switch_imports_the_py_files() -> None:
    code = ("import feeds.core.engine, feeds.core.compiled as c; "
            "print(feeds.core.engine.__file__, c.core())")
    env = {**os.environ, compiled.PURE_ENV: "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=60, check=True).stdout.split()
    assert out == [str(ROOT / "feeds" / "core" / "engine.py"), "pure", "Python"]


@pytest.mark.parametrize(("edit", "stale"), [(None, False), ("voice.py", True),
                                             ("voice.pxd", True), ("compiled_from.json", True)])
def test_a_module_compiled_from_other_sources_is_stale(
        tmp_path: Path, edit: str | None, stale: bool) -> None:
    """Judged by what it was built from, not by file times (a wheel's are all alike)."""
    source = tmp_path / "voice.py"
    source.write_text("x = 1\n")
    source.with_suffix(".pxd").write_text("cdef int x\n")
    source.with_suffix(importlib.machinery.EXTENSION_SUFFIXES[0]).write_text("")
    buildinfo.write_manifest(tmp_path, {f"{tmp_path.name}.voice": source})
    if edit is not None:
        with open(tmp_path / edit, "a") as changed:
            changed.write("# edited after the build\n")
    assert compiled.stale_extensions(tmp_path) == ([f"{tmp_path.name}.voice"] if stale else [])


@pytest.mark.parametrize(("built", "missing"), [((), []), (("voice", "engine"), []),
                                                (("voice",), ["engine"])])
def test_a_build_that_failed_part_way_runs_pure(tmp_path: Path, built: tuple[str, ...],
                                                missing: list[str]) -> None:
    """None compiled, or all: nothing missing. Some: the others would not load."""
    for name in ("voice", "engine"):
        (tmp_path / f"{name}.py").write_text("")
        (tmp_path / f"{name}.pxd").write_text("")
    for name in built:
        (tmp_path / name).with_suffix(importlib.machinery.EXTENSION_SUFFIXES[0]).write_text("")
    assert compiled.missing_extensions(tmp_path) == [f"{tmp_path.name}.{m}" for m in missing]
