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
    # /tmp first: the interpreter, a virtualenv or the library may live below /tmp (a
    # course cloned there), and a tmpfs mounted after their binds would hide them
    cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for p in _ro_paths():
        cmd += ["--ro-bind", str(p), str(p)]
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


@dataclass
class Job:
    """One exercise to run: its code, the calls to make, the input arrays, its wall limit."""

    code: str
    calls: list[dict]
    inputs: dict[str, np.ndarray]
    wall: float
    preload: tuple[str, ...] = ()


def run(code: str, calls: list[dict], inputs: dict[str, np.ndarray], limits: Limits,
        mode: str = "auto") -> RunResult:  # fmt: skip
    """Execute one exercise in a fresh sandboxed process; never raises for the code."""
    return run_many([Job(code, calls, inputs, limits.wall)], limits, limits.wall + 30, mode)[0]


def run_many(jobs: list[Job], limits: Limits, budget: float, mode: str = "auto") -> list[RunResult]:
    """Run a submission's exercises: ONE sandbox, one forked process per exercise.

    The sandbox starts Python once (importing numpy and the ``preload`` modules once),
    then forks a fresh child per exercise with the exercise's wall-clock limit (see
    ``harness.py``). ``budget`` caps the whole submission; an exercise that did not get
    to run before the sandbox was stopped is reported as a time-out.
    """
    if not jobs:
        return []
    mechanism, _ = probe(mode)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="wi-grade-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o777)  # the sandbox runs as nobody
        shutil.copy(HARNESS, work / "harness.py")
        spec = {"preload": sorted({m for j in jobs for m in j.preload}), "jobs": []}
        for i, job in enumerate(jobs):
            folder = work / f"job{i}"
            folder.mkdir()
            os.chmod(folder, 0o777)
            plan = {"code": job.code, "calls": _encode(job.calls), "call_timeout": limits.call}
            (folder / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
            if job.inputs:
                np.savez(folder / "inputs.npz", **job.inputs)
            spec["jobs"].append({"dir": f"job{i}", "wall": job.wall})
        (work / "jobs.json").write_text(json.dumps(spec), encoding="utf-8")
        if mechanism == "bwrap":
            cmd = [*bwrap_command(work), sys.executable, "-I", "/sandbox/harness.py", "--server"]
            cwd, env = None, ENV
        else:
            cmd = [sys.executable, "-I", str(work / "harness.py"), "--server"]
            cwd, env = str(work), ENV | {"HOME": str(work), "MPLCONFIGDIR": str(work)}
        # a few seconds per job for starting Python and saving outputs
        outer = min(budget, sum(j.wall for j in jobs) + 10 + 2 * len(jobs))
        cpu = Limits(**{**limits.__dict__, "wall": outer})
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, preexec_fn=_limit(cpu), start_new_session=True,
        )  # fmt: skip
        killed = False
        try:
            _, err = proc.communicate(timeout=max(outer, 1.0))
        except subprocess.TimeoutExpired:
            _kill(proc)
            killed, err = True, b""
        err_text = err.decode("utf-8", "replace")[-1500:] if err else ""
        results = [_collect(work / f"job{i}", job, killed, proc.returncode, err_text, outer)
                   for i, job in enumerate(jobs)]  # fmt: skip
    if len(jobs) == 1 and results[0].seconds == 0.0:
        results[0].seconds = round(time.monotonic() - start, 2)
    return results


def _tail(path: Path, n: int = 2000) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - n))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _collect(folder: Path, job: Job, killed: bool, code: int | None, err: str,
             outer: float) -> RunResult:  # fmt: skip
    status_file = folder / "status.json"
    try:
        status = json.loads(status_file.read_text(encoding="utf-8"))
        seconds = float(status.get("seconds", 0.0))
    except (OSError, ValueError, AttributeError):
        if killed:
            return RunResult("timeout", None, {}, f"the submission's {outer:g} s were used up")
        return RunResult("crashed", None, {}, "the grading process was ended (by the code of "
                         f"this or an earlier exercise): {_exit_text(code, err)}")  # fmt: skip
    if status.get("timeout"):
        return RunResult("timeout", None, {}, f"killed after {job.wall:g} s", seconds)
    result_file = folder / "out" / "result.json"
    if status.get("exit") != 0 or not result_file.is_file():
        return RunResult("crashed", None, {},
                         _exit_text(status.get("exit"), _tail(folder / "out" / "stderr.txt")),
                         seconds)  # fmt: skip
    try:
        if result_file.stat().st_size > 10 << 20:
            raise ValueError("result.json too large")
        result = json.loads(result_file.read_text(encoding="utf-8"))
        with np.load(folder / "out" / "outputs.npz", allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError) as exc:
        return RunResult("crashed", None, {}, f"unreadable result: {exc}", seconds)
    if not isinstance(result, dict) or not isinstance(result.get("calls"), dict):
        return RunResult("crashed", None, {}, "malformed result", seconds)
    return RunResult("ok", result, arrays, "", seconds)


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
