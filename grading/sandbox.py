"""Run one exercise's code in an isolated, resource-limited process.

Two mechanisms, the first available is used:

``bwrap``
    `bubblewrap <https://github.com/containers/bubblewrap>`_ (Debian package
    ``bubblewrap``; ``scripts/install_bubblewrap.sh``). The process gets new user,
    PID, network, IPC, UTS and cgroup namespaces (no network at all, it sees no other
    process), an empty root file system in which only the Python installation, the
    installed packages and the ``weightinit`` package are mounted read-only, a private
    ``/tmp``, and one writable folder: its own temporary copy (``/sandbox``). The
    instructor's notebooks, the hidden tests, the other submissions and the home
    folder are not in its file system at all. It runs with no capabilities, as
    user ``nobody`` inside its user namespace, and is killed with its whole PID
    namespace when its time is up.
``rlimits`` (fallback, announced loudly)
    When bubblewrap is missing or cannot create namespaces, the code runs in a plain
    subprocess in a temporary folder with a scrubbed environment and the same
    resource limits. This does NOT protect the file system (the code can read and
    write whatever the grader's user can), the network, or other processes.

In both cases: ``resource.setrlimit`` caps the address space (memory), CPU time,
file size and core dumps; a wall-clock limit kills the process group; Python runs
isolated (``-I``: no user site, no ``PYTHON*`` variables); the environment is
rebuilt from scratch (no inherited token or path).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HARNESS = Path(__file__).with_name("harness.py")

#: Environment of the sandboxed process (nothing is inherited).
ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
}


@dataclass
class Limits:
    """Resource limits of one sandboxed run."""

    wall: float = 60.0  # seconds, the whole exercise (import + every call)
    call: float = 20.0  # seconds, one call of a student function
    memory: int = 2 << 30  # bytes of address space
    file_size: int = 256 << 20  # bytes, largest file the code may write


@dataclass
class RunResult:
    """What came back from the sandbox."""

    status: str  # "ok", "timeout", "crashed"
    result: dict | None  # result.json (module/calls), when status == "ok"
    arrays: dict[str, np.ndarray]
    detail: str = ""  # exit code / signal / stderr tail for a crash
    seconds: float = 0.0


def _package_dir(name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"cannot find the package {name!r} to mount in the sandbox")
    return Path(spec.origin).resolve().parent


def _ro_paths() -> list[Path]:
    """Read-only mounts: the interpreter, its packages and the library, nothing else."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    paths.add(Path(sys.executable).resolve().parent.parent)
    for name in ("numpy", "weightinit"):
        paths.add(_package_dir(name))
    site = [Path(p).resolve() for p in sys.path if p and Path(p).is_dir() and "site-packages" in p]
    paths.update(site)
    out: list[Path] = []
    for p in sorted(paths, key=lambda q: len(q.parts)):
        if not any(p.is_relative_to(q) for q in out) and not str(p).startswith("/usr"):
            out.append(p)
    return out


def bwrap_command(workdir: Path) -> list[str]:
    """The bubblewrap command line for a sandbox whose only writable folder is ``workdir``."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise FileNotFoundError("bwrap")
    cmd = [bwrap, "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534"]
    cmd += ["--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv"]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/lib", "/lib64", "/sbin", "/lib32"):
        p = Path(top)
        if p.is_symlink():
            cmd += ["--symlink", os.readlink(p), top]
        elif p.is_dir():
            cmd += ["--ro-bind", top, top]
    for p in _ro_paths():
        cmd += ["--ro-bind", str(p), str(p)]
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    cmd += ["--bind", str(workdir), "/sandbox", "--chdir", "/sandbox"]
    for k, v in ENV.items():
        cmd += ["--setenv", k, v]
    return cmd


def _limit(limits: Limits):
    def apply():  # runs in the child between fork and exec
        cpu = int(limits.wall) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    return apply


_MODE: str | None = None
_WHY = ""


def probe(mode: str = "auto") -> tuple[str, str]:
    """Which mechanism is usable: ("bwrap", "") or ("rlimits", why bubblewrap is not)."""
    global _MODE, _WHY
    if mode == "none":
        return "rlimits", "the sandbox was turned off (--sandbox none)"
    if _MODE is not None:
        return _MODE, _WHY
    with tempfile.TemporaryDirectory(prefix="wi-probe-") as tmp:
        try:
            cmd = [*bwrap_command(Path(tmp)), sys.executable, "-I", "-c", "import numpy"]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
            if proc.returncode == 0:
                _MODE, _WHY = "bwrap", ""
            else:
                _MODE, _WHY = "rlimits", f"bwrap failed: {proc.stderr.strip()[-300:]}"
        except FileNotFoundError:
            _MODE, _WHY = "rlimits", "bwrap is not installed (scripts/install_bubblewrap.sh)"
        except (OSError, subprocess.SubprocessError) as exc:
            _MODE, _WHY = "rlimits", f"bwrap failed: {exc}"
    if mode == "bwrap" and _MODE != "bwrap":
        raise RuntimeError(f"--sandbox bwrap requested but unavailable: {_WHY}")
    return _MODE, _WHY


def _encode(value):
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def run(code: str, calls: list[dict], inputs: dict[str, np.ndarray], limits: Limits,
        mode: str = "auto") -> RunResult:  # fmt: skip
    """Execute ``code`` and the ``calls`` in a fresh sandboxed process; never raises for the code."""
    mechanism, _ = probe(mode)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wi-grade-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o777)  # the sandbox runs as nobody
        shutil.copy(HARNESS, work / "harness.py")
        plan = {"code": code, "calls": _encode(calls), "call_timeout": limits.call}
        (work / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        if inputs:
            np.savez(work / "inputs.npz", **inputs)
        if mechanism == "bwrap":
            cmd = [*bwrap_command(work), sys.executable, "-I", "/sandbox/harness.py"]
            cwd, env = None, ENV | {"HOME": str(work)}
        else:
            cmd = [sys.executable, "-I", str(work / "harness.py")]
            cwd, env = str(work), ENV | {"HOME": str(work), "MPLCONFIGDIR": str(work)}
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, preexec_fn=_limit(limits), start_new_session=True,
        )  # fmt: skip
        try:
            _, err = proc.communicate(timeout=limits.wall)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return RunResult("timeout", None, {}, f"killed after {limits.wall:g} s",
                             time.monotonic() - start)  # fmt: skip
        seconds = time.monotonic() - start
        err_text = err.decode("utf-8", "replace")[-1500:] if err else ""
        result_file = work / "out" / "result.json"
        if proc.returncode != 0 or not result_file.is_file():
            return RunResult("crashed", None, {}, _exit_text(proc.returncode, err_text), seconds)
        try:
            if result_file.stat().st_size > 10 << 20:
                raise ValueError("result.json too large")
            result = json.loads(result_file.read_text(encoding="utf-8"))
            with np.load(work / "out" / "outputs.npz", allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, KeyError) as exc:
            return RunResult("crashed", None, {}, f"unreadable result: {exc}", seconds)
        if not isinstance(result, dict) or not isinstance(result.get("calls"), dict):
            return RunResult("crashed", None, {}, "malformed result", seconds)
        return RunResult("ok", result, arrays, err_text, seconds)


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _exit_text(code: int, err: str) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        text = f"the process was killed by {name}"
        if name in ("SIGKILL", "SIGXCPU"):
            text += " (CPU or memory limit?)"
    else:
        text = f"the process exited with status {code} before finishing"
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    if lines:
        text += f"; last message: {lines[-1][:300]}"
    return text
