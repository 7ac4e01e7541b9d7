"""A TierStore opened from Python by URL reads what Rust wrote, and the reverse.

The Rust side is the `tierstore` command (`put`, `get`), which opens the same URL with
`tierstore::open`.
"""

import os
import subprocess
import urllib.parse

import pytest

import tierstore
from conftest import require_env

KINDS = ["sqlite", "file", "redis", "s3", "postgres"]


def url_for(kind, tmp_path, unique):
    if kind == "sqlite":
        return f"sqlite:{tmp_path / 'store.db'}"
    if kind == "file":
        return f"file:{tmp_path / 'store'}"
    if kind == "redis":
        return f"{require_env('TIERSTORE_REDIS_URL').rstrip('/')}/?prefix={unique}"
    if kind == "s3":
        query = urllib.parse.urlencode(
            {
                "endpoint": require_env("TIERSTORE_S3_ENDPOINT"),
                "region": require_env("TIERSTORE_S3_REGION"),
                "allow_http": "true",
            }
        )
        require_env("AWS_ACCESS_KEY_ID")
        return f"s3://{require_env('TIERSTORE_S3_BUCKET')}/{unique}?{query}"
    if kind == "postgres":
        base = require_env("TIERSTORE_POSTGRES_URL")
        sep = "&" if "?" in base else "?"
        return f"{base}{sep}table={unique}"
    raise AssertionError(kind)


def rust(cli, *args, input=None):
    done = subprocess.run(
        [str(cli), *args], input=input, capture_output=True, timeout=120, env=os.environ
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


@pytest.mark.parametrize("kind", KINDS)
def test_python_reads_what_rust_wrote_and_the_reverse(kind, tmp_path, unique, cli):
    url = url_for(kind, tmp_path, unique)
    value = bytes(range(256)) * 4

    # Rust writes, Python reads.
    rust(cli, "put", url, "monitors//from_rust", input=value)
    store = tierstore.TierStoreBuilder().primary_url(url).build()
    assert store.read("monitors", "", "from_rust") == value
    assert store.list("monitors", "") == ["from_rust"]

    # Python writes, Rust reads.
    store.write("monitors", "", "from_python", value[::-1])
    store.write("", "", "manager", b"manager bytes")
    store.close()
    assert rust(cli, "get", url, "monitors//from_python") == value[::-1]
    assert rust(cli, "get", url, "//manager") == b"manager bytes"

    # And back once more: Rust updates, a new Python store sees it.
    rust(cli, "put", url, "//manager", "--value", "updated by rust")
    store = tierstore.TierStoreBuilder().primary_url(url).build()
    assert store.read("", "", "manager") == b"updated by rust"
    store.close()
