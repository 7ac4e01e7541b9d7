"""Fixtures for the Python bindings' tests.

Run by `cargo xtask test`, which builds the package (`cargo xtask bindings python`), puts
`target/bindings/python` on PYTHONPATH and starts the servers. By hand: build the package,
`source` the output of `cargo xtask services`, then
`PYTHONPATH=target/bindings/python python3 -m pytest bindings/python/tests`.

A missing server is a failure, never a skip.
"""

import os
import pathlib
import subprocess
import sys
import threading
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bindings" / "python" / "examples"))

import tierstore  # noqa: E402
from dict_backend import DictBackend  # noqa: E402

ROLES = ["primary", "backup", "ephemeral"]


def target_dir():
    for var in ("TIERSTORE_TARGET_DIR", "CARGO_TARGET_DIR"):
        if os.environ.get(var):
            return pathlib.Path(os.environ[var])
    return ROOT / "target"


def require_env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: run under `cargo xtask test`, or source the output of "
            "`cargo xtask services` first"
        )
    return value


class RecordingBackend(DictBackend):
    """The sample backend, recording every call TierStore makes to it."""

    def __init__(self, name="python-dict"):
        super().__init__(name)
        self.calls = []
        self._calls_lock = threading.Lock()

    def _record(self, *call):
        with self._calls_lock:
            self.calls.append(call)

    def read(self, p, s, k):
        self._record("read", p, s, k)
        return super().read(p, s, k)

    def write(self, p, s, k, value):
        self._record("write", p, s, k)
        return super().write(p, s, k, value)

    def remove(self, p, s, k, lazy):
        self._record("remove", p, s, k)
        return super().remove(p, s, k, lazy)

    def list(self, p, s):
        self._record("list", p, s)
        return super().list(p, s)

    def list_page(self, p, s, token, limit):
        self._record("list_page", p, s, token)
        return super().list_page(p, s, token, limit)

    def list_all_keys(self):
        self._record("list_all_keys")
        return super().list_all_keys()


def build_store(tmp_path, role, backend, *, routing=None):
    """A TierStore with `backend` in `role` and SQLite files in the two other roles."""
    builder = tierstore.TierStoreBuilder()
    for r in ROLES:
        if r == role:
            builder = getattr(builder, f"{r}_backend")(backend)
        else:
            builder = getattr(builder, f"{r}_url")(f"sqlite:{tmp_path / (r + '.db')}")
    if routing:
        builder = routing(builder)
    return builder.build()


@pytest.fixture(params=ROLES)
def role(request):
    return request.param


@pytest.fixture
def backend():
    return RecordingBackend()


@pytest.fixture
def store(tmp_path, role, backend):
    store = build_store(tmp_path, role, backend)
    yield store
    store.close()


@pytest.fixture(scope="session")
def cli():
    """The `tierstore` command, built with every backend (a no-op when already built)."""
    subprocess.run(
        [
            os.environ.get("CARGO", "cargo"),
            *("build", "--quiet", "-p", "tierstore-cli", "--features", "redis,s3,postgres"),
        ],
        cwd=ROOT,
        check=True,
    )
    path = target_dir() / "debug" / "tierstore"
    assert path.is_file(), f"{path} was not built"
    return path


@pytest.fixture
def unique():
    """A name no other test uses (prefixes, tables)."""
    return "py" + uuid.uuid4().hex[:12]
