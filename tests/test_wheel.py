"""floorwatch installed as a user installs it: a wheel built from this tree, in a fresh venv.

The wheel is built (its core compiled) from a copy of the source tree, installed with its
dependencies into a new virtual environment, and run from a directory that holds no
source, so nothing can come from the checkout: the console script's version and help,
the compiled core it was built with (never refused as stale), the headless demo's flag
feed and the TUI driven headless for a few keys.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Drives the installed TUI headless on the embedded demo floor: open a call, go back, quit.
TUI_SCRIPT = textwrap.dedent("""
    import asyncio
    from feeds.client.subscriber import FeedClient
    from feeds.sim.demo import DemoFloor
    from tui.app import FloorwatchApp
    from tui.screens.detail import DetailScreen

    async def main():
        async with DemoFloor(agents=8, warmup_s=30) as floor:
            app = FloorwatchApp(FeedClient(floor.url, detail="summary", token=floor.token))
            async with app.run_test(size=(100, 30)) as pilot:
                for _ in range(100):
                    await pilot.pause(0.05)
                    if app.frame is not None and app.frame.counts.live:
                        break
                assert app.frame.counts.live > 0, "no live calls on the board"
                await pilot.press("enter")
                await pilot.pause(0.3)
                assert isinstance(app.screen, DetailScreen), app.screen
                await pilot.press("escape", "2", "1")
                await pilot.pause(0.2)
                await pilot.press("q")
        print("tui ok")

    asyncio.run(main())
""")


def _run(args: list[str], cwd: Path, timeout: float = 300, **kwargs) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env, check=False, **kwargs)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ of a fresh venv with floorwatch installed from a freshly built wheel."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler: the wheel would carry the pure-Python core only")
    work = tmp_path_factory.mktemp("wheel")
    tree = work / "src"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    dist = work / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(dist), str(tree)], cwd=work, timeout=600)
    [wheel] = dist.glob("floorwatch-*.whl")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=work)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], cwd=work,
         timeout=600)
    return venv / "bin"


def test_the_installed_command_runs_its_compiled_core(installed: Path, tmp_path: Path) -> None:
    out = _run([str(installed / "floorwatch"), "--version"], cwd=tmp_path)
    assert out.startswith("floorwatch 0.")
    assert "hub address" in _run([str(installed / "floorwatch"), "watch", "--help"], cwd=tmp_path)
    code = ("import feeds.core.engine as e, feeds.core.compiled as c; "
            "print(c.core(), e.__file__)")
    out = _run([str(installed / "python"), "-c", code], cwd=tmp_path)
    assert out.startswith("compiled "), out  # and no "running the pure-Python core" warning
    assert "site-packages" in out and str(ROOT) not in out


def test_the_installed_headless_demo_prints_flags(installed: Path, tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [str(installed / "floorwatch"), "demo", "--headless", "--json", "--agents", "12"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = demo.communicate(timeout=8)
    except subprocess.TimeoutExpired:
        demo.terminate()
        out, err = demo.communicate(timeout=10)
    assert "floorwatch demo: hub on ws://127.0.0.1:" in err
    assert "pure-Python" not in err
    assert '"rule": ' in out and '"values": ' in out, err


def test_the_installed_tui_opens_a_call(installed: Path, tmp_path: Path) -> None:
    script = tmp_path / "drive.py"
    script.write_text(TUI_SCRIPT)
    assert "tui ok" in _run([str(installed / "python"), str(script)], cwd=tmp_path, timeout=120)
