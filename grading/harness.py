"""Runs INSIDE the sandbox: execute each exercise's code and call its functions.

This file is copied into the sandbox's temporary folder together with ``jobs.json`` and
one folder per exercise holding ``plan.json`` (the student's code, the calls to make)
and ``inputs.npz`` (input arrays). It holds no expected answer and no test: it only
records what the student's functions return (``out/outputs.npz``) and how each call
ended (``out/result.json``). The judging is done outside the sandbox, by the grader.

``python harness.py --server`` (one process per submission) imports numpy (and the
modules in ``jobs.json``'s ``preload``) once, then runs every exercise in a FORKED
child of its own: a fresh process per exercise, killed with its process group when its
wall-clock limit is up, its exit status written to ``status.json``. The student's code
runs only in those children, never in the server.
"""

import contextlib
import importlib
import json
import os
import signal
import sys
import time
import traceback

import numpy as np

FILENAME = "<exercise>"


class CallTimeout(BaseException):
    """Raised in the student's code when a call exceeds its time limit."""  # student code misses it


def _alarm(signum, frame):
    raise CallTimeout


def _decode(value, inputs, np_mod):
    if isinstance(value, dict):
        if "$array" in value:
            return inputs[value["$array"]].copy()
        if "$rng" in value:
            return np_mod.random.default_rng(int(value["$rng"]))
        if "$tuple" in value:
            return tuple(_decode(v, inputs, np_mod) for v in value["$tuple"])
        return {k: _decode(v, inputs, np_mod) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, inputs, np_mod) for v in value]
    return value


def _where(exc, code_lines):
    """The innermost frame of the student's code: (line number, source line)."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == FILENAME:
            found = frame.lineno
    if found is None and isinstance(exc, SyntaxError) and exc.filename == FILENAME:
        found = exc.lineno
    if found is None or not 1 <= found <= len(code_lines):
        return None, ""
    return found, code_lines[found - 1].strip()


def _describe(exc, code_lines):
    line, text = _where(exc, code_lines)
    return {
        "status": "timeout" if isinstance(exc, CallTimeout) else "error",
        "type": type(exc).__name__,
        "message": str(exc)[:500],
        "line": line,
        "code": text[:200],
        "not_implemented": isinstance(exc, NotImplementedError),
    }


def _accepts(fn, name):
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _store(out, arrays, key):
    """Record a returned value: numbers go to outputs.npz, the rest is described."""
    if out is None:
        return {"status": "ok", "kind": "none"}
    kind = type(out).__name__
    if isinstance(out, (str, bytes, dict, set)):
        return {"status": "ok", "kind": "other", "type": kind, "repr": repr(out)[:120]}
    try:
        arr = np.asarray(out)
    except Exception:
        return {"status": "ok", "kind": "other", "type": kind, "repr": "?"}
    if arr.dtype.kind not in "biuf":
        return {"status": "ok", "kind": "other", "type": kind, "repr": repr(out)[:120]}
    arrays[key] = np.ascontiguousarray(arr)
    return {"status": "ok", "kind": "array", "type": kind, "dtype": str(arr.dtype)}


def main():
    with open("plan.json", encoding="utf-8") as fh:
        plan = json.load(fh)
    inputs = dict(np.load("inputs.npz", allow_pickle=False)) if os.path.exists("inputs.npz") else {}
    os.makedirs("out", exist_ok=True)
    result = {"module": None, "calls": {}}
    code = plan["code"]
    code_lines = code.split("\n")
    signal.signal(signal.SIGALRM, _alarm)
    call_limit = float(plan["call_timeout"])
    namespace = {"__name__": "__exercise__", "__builtins__": __builtins__}
    # the student's prints go to a file (bounded by RLIMIT_FSIZE), not into the protocol
    sys.stdout = open("out/stdout.txt", "w", encoding="utf-8")  # noqa: SIM115
    arrays = {}

    def write():
        np.savez("out/outputs.npz", **arrays)
        with open("out/result.json", "w", encoding="utf-8") as fh:
            json.dump(result, fh)

    try:
        signal.setitimer(signal.ITIMER_REAL, call_limit)
        exec(compile(code, FILENAME, "exec"), namespace)
        signal.setitimer(signal.ITIMER_REAL, 0)
    except BaseException as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        result["module"] = _describe(exc, code_lines)
        write()
        sys.stdout.flush()
        os._exit(0)
    for call in plan["calls"]:
        key, name = call["key"], call["fn"]
        fn = namespace.get(name)
        if not callable(fn):
            result["calls"][key] = {"status": "undefined"}
            continue
        args = _decode(call["args"], inputs, np)
        kwargs = _decode(call.get("kwargs", {}), inputs, np)
        for opt, value in _decode(call.get("optional", {}), inputs, np).items():
            if _accepts(fn, opt):
                kwargs[opt] = value
        try:
            signal.setitimer(signal.ITIMER_REAL, call_limit)
            out = fn(*args, **kwargs)
            signal.setitimer(signal.ITIMER_REAL, 0)
            result["calls"][key] = _store(out, arrays, key)
        except BaseException as exc:
            signal.setitimer(signal.ITIMER_REAL, 0)
            result["calls"][key] = _describe(exc, code_lines)
        if isinstance(out := result["calls"][key], dict) and out.get("status") == "timeout":
            break  # the rest would time out too; the grader reports the first
    write()
    sys.stdout.flush()
    os._exit(0)  # no atexit handler the student may have registered


def _child(folder: str) -> None:
    """In the forked child: a process group of its own, output to files, then the job."""
    try:
        os.setpgid(0, 0)
        os.chdir(folder)
        os.makedirs("out", exist_ok=True)
        for fd, name in ((1, "out/stdout.txt"), (2, "out/stderr.txt")):
            f = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(f, fd)
            os.close(f)
        main()
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(70)


def _kill_group(pid: int) -> None:
    for target in (-pid, pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(target, signal.SIGKILL)


def server() -> None:
    """Run every job of ``jobs.json`` in a forked child with its wall-clock limit."""
    with open("jobs.json", encoding="utf-8") as fh:
        spec = json.load(fh)
    for name in spec.get("preload", []):
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    for job in spec["jobs"]:
        folder, wall = job["dir"], float(job["wall"])
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(folder)
        timed_out = False
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - start > wall:
                _kill_group(pid)
                _, status = os.waitpid(pid, 0)
                timed_out = True
                break
            time.sleep(0.005)
        _kill_group(pid)  # whatever the exercise left running
        report = {"timeout": timed_out, "exit": os.waitstatus_to_exitcode(status),
                  "seconds": round(time.monotonic() - start, 3)}  # fmt: skip
        with open(os.path.join(folder, "status.json"), "w", encoding="utf-8") as fh:
            json.dump(report, fh)
    os._exit(0)


if __name__ == "__main__":
    if sys.argv[1:] == ["--server"]:
        server()
    else:
        main()
