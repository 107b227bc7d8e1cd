"""Parallel test runs (pytest-xdist) give each worker services of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from lib.conf import REPO_ROOT

PROBE = """
import json, os, pathlib

def test_record_this_workers_services():
    worker = os.environ["PYTEST_XDIST_WORKER"]
    names = ("REDIS_URL", "MONGODB_DB", "ZEST_DATA_DIR", "VERCEL_BLOB_API_URL")
    record = {name: os.environ.get(name) for name in names}
    pathlib.Path(os.environ["PROBE_OUT"], worker + ".json").write_text(json.dumps(record))
"""


def test_each_xdist_worker_gets_its_own_redis_mongo_data_dir_and_blob_emulator(tmp_path):
    (tmp_path / "test_probe.py").write_text(PROBE)
    out = tmp_path / "out"
    out.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PROBE_OUT": str(out),
        "REDIS_URL": "redis://127.0.0.1:6379/3",
        "MONGODB_DB": "zest_probe",
    }
    for name in ("ZEST_DATA_DIR", "BLOB_READ_WRITE_TOKEN", "VERCEL_BLOB_API_URL"):
        env.pop(name, None)
    for name in [name for name in env if name.startswith("PYTEST_XDIST_")]:
        env.pop(name)  # this test may itself run in an xdist worker
    command = [sys.executable, "-m", "pytest", "-p", "devtools.pytest_services", "-n", "2"]
    result = subprocess.run(
        [*command, "--dist", "each", "-p", "no:cacheprovider", "-q", "test_probe.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    records = {path.stem: json.loads(path.read_text()) for path in out.glob("*.json")}

    assert sorted(records) == ["gw0", "gw1"]
    gw0, gw1 = records["gw0"], records["gw1"]
    assert (gw0["REDIS_URL"], gw1["REDIS_URL"]) == (
        "redis://127.0.0.1:6379/3",
        "redis://127.0.0.1:6379/4",
    )
    assert (gw0["MONGODB_DB"], gw1["MONGODB_DB"]) == ("zest_probe_gw0", "zest_probe_gw1")
    assert gw0["ZEST_DATA_DIR"] != gw1["ZEST_DATA_DIR"]
    assert gw0["VERCEL_BLOB_API_URL"] != gw1["VERCEL_BLOB_API_URL"]
