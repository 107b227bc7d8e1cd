"""Cold start of every function: process start to first response, against the yardstick.

For each function of vercel.json, a fresh Python process imports `api/<name>.py` and serves
one request for a path that function answers (taken from vercel.json); the same is done for
`bench/minimal_function.py`, the smallest Django + Ninja function. Runs alternate between the
two so machine noise hits both alike; the table shows medians and the ratio.

Backing services: an Upstash-compatible bridge started here (over REDIS_URL when set) and
MONGODB_URI / DATABASE_URL when set; otherwise the embedded defaults. The database is migrated
once before measuring.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import time
started = time.perf_counter()
import importlib.util, io, sys
from wsgiref.util import setup_testing_defaults
file, path = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("function", file)
module = sys.modules["function"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = time.perf_counter()
environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}
setup_testing_defaults(environ)
status = []
body = b"".join(module.app(environ, lambda s, h, e=None: status.append(s)))
done = time.perf_counter()
print(status[0].split()[0], (imported - started) * 1000, (done - imported) * 1000, flush=True)
"""
# A request each function answers, where its rewrites alone do not name one.
SAMPLE_PATHS = {"health": "/api/health", "catalog": "/api/v1/products", "admin": "/admin/login/"}


def sample_path(name: str, vercel: dict) -> str:
    if name in SAMPLE_PATHS:
        return SAMPLE_PATHS[name]
    for rewrite in vercel["rewrites"]:
        source = rewrite["source"]
        if rewrite["destination"] == f"/api/{name}" and not source.startswith("/api/v1/openapi/"):
            return source.split("/:")[0] or "/no/such/page"
    return f"/api/{name}"


def run_once(file: Path, path: str, env: dict) -> tuple[float, str, float, float]:
    """Wall time from spawning the process to its first response, the response status, and
    (measured inside the process) the time to import the function and to answer."""
    started = time.perf_counter()
    # Timed until the first response is printed, not until the process exits: a serverless
    # instance keeps running after its first request.
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(file), path],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        line = child.stdout.readline()
        elapsed = (time.perf_counter() - started) * 1000
        child.kill()
        _, stderr = child.communicate()
    if not line:
        raise SystemExit(f"{file.name} {path} failed:\n{stderr[-2000:]}")
    status, import_ms, request_ms = line.split()
    return elapsed, status, float(import_ms), float(request_ms)


def prepare_environment() -> dict:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.setdefault("ZEST_DATA_DIR", tempfile.mkdtemp(prefix="zest-bench-"))
    env.setdefault("CRON_SECRET", "bench")
    if not env.get("UPSTASH_REDIS_REST_URL"):
        from devtools.upstash_bridge import start_bridge

        bridge = start_bridge(redis_url=env.get("REDIS_URL") or None, token="bench-token")  # noqa: S106
        env["UPSTASH_REDIS_REST_URL"], env["UPSTASH_REDIS_REST_TOKEN"] = bridge.url, "bench-token"
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "-v0"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "lib.django_settings"},
        check=True,
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per function (default 7)")
    parser.add_argument("functions", nargs="*", help="only these functions")
    args = parser.parse_args()

    from lib.openapi import function_names

    vercel = json.loads((ROOT / "vercel.json").read_text())
    names = [name for name in function_names() if not args.functions or name in args.functions]
    env = prepare_environment()
    baseline_file = ROOT / "bench" / "minimal_function.py"

    print(f"python {sys.version.split()[0]}, {args.runs} runs each, medians in ms")
    print("total = process start to first response; import and answer measured inside it")
    print(
        f"{'function':<23}{'path':<28}{'status':>6}{'total':>7}{'import':>7}{'answer':>7}"
        f"{'minimal':>8}{'ratio':>6}"
    )
    worst = 0.0
    for name in names:
        path = sample_path(name, vercel)
        ours, minimal = [], []
        for _ in range(args.runs):
            ours.append(run_once(ROOT / "api" / f"{name}.py", path, env))
            minimal.append(run_once(baseline_file, "/api/ping", env)[0])
        total, imports, answers = (statistics.median(run[i] for run in ours) for i in (0, 2, 3))
        ratio = total / statistics.median(minimal)
        worst = max(worst, ratio)
        print(
            f"{name:<23}{path:<28}{ours[-1][1]:>6}{total:>7.0f}{imports:>7.0f}{answers:>7.0f}"
            f"{statistics.median(minimal):>8.0f}{ratio:>6.2f}",
            flush=True,
        )
    print(f"worst ratio {worst:.2f} (target: at most 1.50)")


if __name__ == "__main__":
    main()
