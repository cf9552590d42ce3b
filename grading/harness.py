"""Runs INSIDE the sandbox: execute one exercise's code and call its functions.

This file is copied into the sandbox's temporary folder together with ``plan.json``
(the student's code, the calls to make) and ``inputs.npz`` (input arrays). It holds
no expected answer and no test: it only records what the student's functions
return (``outputs.npz``) and how each call ended (``result.json``). The judging is
done outside the sandbox, by the grader, on these outputs.

Only the standard library and numpy are imported here, so the student's code pays
for the imports it makes itself and nothing else.
"""

import json
import os
import signal
import sys
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
        return
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


if __name__ == "__main__":
    main()
