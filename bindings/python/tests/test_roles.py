"""The sample Python backend in each role of a TierStore, SQLite in the others."""

import pytest

import tierstore
from conftest import ROLES, RecordingBackend, build_store

DURABLE = ("monitors", "", "chan1")
GRAPH = ("", "", "network_graph")
SCORER = ("", "", "scorer")


def test_round_trip(store, backend, role):
    store.write(*DURABLE, b"monitor bytes")
    store.write(*GRAPH, b"graph" * 1000)
    store.write(*SCORER, b"")
    assert store.read(*DURABLE) == b"monitor bytes"
    assert store.read(*GRAPH) == b"graph" * 1000
    assert store.read(*SCORER) == b""
    store.write(*DURABLE, b"updated")
    assert store.read(*DURABLE) == b"updated"
    store.remove(*DURABLE, False)
    with pytest.raises(tierstore.TierStoreError.NotFound) as err:
        store.read(*DURABLE)
    assert "monitors" in str(err.value)
    # The Python backend really was the store of its role.
    if role == "ephemeral":
        assert ("write", *GRAPH) in backend.calls
    else:
        assert ("write", *DURABLE) in backend.calls


def test_routing_of_network_graph_and_scorer(store, backend, role):
    store.write(*DURABLE, b"durable")
    store.write(*GRAPH, b"graph")
    store.write(*SCORER, b"scorer")
    held = backend.snapshot()
    if role == "ephemeral":
        # The caches live in the ephemeral store only; durable keys never reach it.
        assert held == {GRAPH: b"graph", SCORER: b"scorer"}
    else:
        # Primary and backup hold durable keys; the caches went to the SQLite ephemeral store.
        assert held == {DURABLE: b"durable"}
    assert sorted(store.list("", "")) == ["network_graph", "scorer"]


def test_extra_ephemeral_keys_are_routed(tmp_path):
    backend = RecordingBackend()
    store = build_store(
        tmp_path,
        "ephemeral",
        backend,
        routing=lambda b: b.ephemeral_key("probes", "", "cache").ephemeral_namespace("tmp", "x"),
    )
    store.write("probes", "", "cache", b"1")
    store.write("tmp", "x", "a", b"2")
    store.write("probes", "", "kept", b"3")
    assert backend.snapshot() == {("probes", "", "cache"): b"1", ("tmp", "x", "a"): b"2"}
    assert sorted(store.list("probes", "")) == ["cache", "kept"]
    store.close()
    with pytest.raises(tierstore.TierStoreError.InvalidInput) as err:
        tierstore.TierStoreBuilder().ephemeral_key("bad ns", "", "k")
    assert "bad ns" in str(err.value)


def all_pages(store, primary, secondary):
    keys, token, pages = [], None, 0
    while True:
        page = store.list_page(primary, secondary, token)
        keys.extend(page.keys)
        pages += 1
        assert pages < 1000, "pagination does not end"
        token = page.next_token
        if token is None:
            return keys


def test_pages_every_key_once_in_creation_order(tmp_path, role):
    backend = RecordingBackend()
    # In the ephemeral role, make a whole namespace ephemeral so its pages come from Python.
    routing = (lambda b: b.ephemeral_namespace("pages", "")) if role == "ephemeral" else None
    store = build_store(tmp_path, role, backend, routing=routing)
    created = [f"k{i:03}" for i in range(137)]  # more than two pages of 50
    for key in created:
        store.write("pages", "", key, key.encode())
    # Updates keep their key's position; a removed and re-created key moves to the front.
    store.write("pages", "", "k010", b"updated")
    store.remove("pages", "", "k020", False)
    store.write("pages", "", "k020", b"again")
    expected = [k for k in created if k != "k020"] + ["k020"]
    keys = all_pages(store, "pages", "")
    assert keys == expected[::-1]
    assert len(set(keys)) == len(keys)
    if role != "backup":
        assert any(c[0] == "list_page" for c in backend.calls), "pages did not come from Python"
    with pytest.raises(tierstore.TierStoreError.InvalidInput):
        store.list_page("pages", "", "not-a-token")
    store.close()


def test_sample_backend_pages_on_its_own():
    backend = RecordingBackend()
    for i in range(10):
        backend.write("ns", "", f"k{i}", b"v")
    backend.write("ns", "", "k3", b"update")
    first = backend.list_page("ns", "", None, 4)
    assert first.keys == ["k9", "k8", "k7", "k6"]
    backend.remove("ns", "", "k6", False)  # the token's key: resume after it anyway
    second = backend.list_page("ns", "", first.next_token, 4)
    assert second.keys == ["k5", "k4", "k3", "k2"]
    third = backend.list_page("ns", "", second.next_token, 4)
    assert third.keys == ["k1", "k0"] and third.next_token is None
    with pytest.raises(tierstore.TierStoreError.InvalidInput):
        backend.list_page("ns", "", "garbage", 4)


INVALID = [
    ("monitors", "", "bad key"),  # space
    ("monitors", "", ""),  # empty key
    ("monitors", "", "k" * 121),  # too long
    ("monitors", "", "caf\u00e9"),  # outside the alphabet
    ("", "secondary", "k"),  # secondary without primary
    ("mon/itors", "", "k"),
]


@pytest.mark.parametrize("key", INVALID, ids=["space", "empty", "too_long", "non_ascii", "secondary_only", "slash"])
def test_invalid_keys_rejected_before_any_python_call(store, backend, key):
    backend.calls.clear()
    for call in (
        lambda: store.write(*key, b"v"),
        lambda: store.read(*key),
        lambda: store.remove(*key, False),
    ):
        with pytest.raises(tierstore.TierStoreError.InvalidInput):
            call()
    with pytest.raises(tierstore.TierStoreError.InvalidInput):
        store.list(key[0], "x" * 200)
    assert backend.calls == [], "the Python backend was called with an invalid key"


class RaisingBackend(RecordingBackend):
    """Fails every mutation: with TierStore's error, or with any Python exception."""

    def __init__(self, exception):
        super().__init__("raising-python-store")
        self.exception = exception

    def write(self, p, s, k, value):
        super().write(p, s, k, value)
        raise self.exception

    def remove(self, p, s, k, lazy):
        raise self.exception


@pytest.mark.parametrize(
    "exception",
    [
        RuntimeError("disk on fire"),
        tierstore.TierStoreError.Backend("disk on fire"),
        tierstore.TierStoreError.Transient("disk on fire"),
    ],
    ids=["RuntimeError", "Backend", "Transient"],
)
def test_raising_backend_gives_an_error_naming_the_tier(tmp_path, role, exception):
    backend = RaisingBackend(exception)
    store = build_store(tmp_path, role, backend)
    key = GRAPH if role == "ephemeral" else DURABLE
    with pytest.raises(tierstore.TierStoreError) as err:
        store.write(*key, b"v")
    message = str(err.value)
    assert f"{role} tier failed" in message, message
    assert "raising-python-store" in message, message
    assert "disk on fire" in message, message
    assert key[2] in message, message
    expected = (
        tierstore.TierStoreError.Transient
        if isinstance(exception, tierstore.TierStoreError.Transient)
        else tierstore.TierStoreError.Backend
    )
    assert isinstance(err.value, expected), type(err.value)
    # The store still works for keys that do not touch the failing tier.
    other = DURABLE if role == "ephemeral" else GRAPH
    store.write(*other, b"fine")
    assert store.read(*other) == b"fine"
    store.close()


def test_verify_finds_a_changed_backup_value_and_repair_fixes_it(tmp_path):
    backup = RecordingBackend("python-backup")
    store = build_store(tmp_path, "backup", backup)
    for i in range(20):
        store.write("monitors", "", f"chan{i}", f"monitor {i}".encode())
    store.write(*GRAPH, b"graph")  # ephemeral: never compared
    report = store.verify()
    assert report.consistent and report.compared == 20

    # Change one value and remove another behind TierStore's back, add a stray key.
    backup.write("monitors", "", "chan7", b"tampered")
    backup.remove("monitors", "", "chan8", False)
    backup.write("monitors", "", "stray", b"x")
    report = store.verify()
    assert not report.consistent
    key = lambda k: tierstore.StoreKey(primary_namespace="monitors", secondary_namespace="", key=k)
    assert report.different == [key("chan7")]
    assert report.missing == [key("chan8")]
    assert report.extra == [key("stray")]
    assert (report.different_total, report.missing_total, report.extra_total) == (1, 1, 1)

    repaired = store.repair()
    assert repaired.copied == 2 and repaired.removed == 1
    assert store.verify().consistent
    held = backup.snapshot()
    assert held[("monitors", "", "chan7")] == b"monitor 7"
    assert held[("monitors", "", "chan8")] == b"monitor 8"
    assert ("monitors", "", "stray") not in held
    store.close()


def test_closed_store_refuses_calls(store):
    store.write(*DURABLE, b"v")
    store.close()
    store.close()  # twice is fine
    with pytest.raises(tierstore.TierStoreError.InvalidInput) as err:
        store.read(*DURABLE)
    assert "closed" in str(err.value)


def test_list_all_keys_covers_every_tier(store):
    store.write(*DURABLE, b"1")
    store.write(*GRAPH, b"2")
    keys = {(k.primary_namespace, k.secondary_namespace, k.key) for k in store.list_all_keys()}
    assert keys == {DURABLE, GRAPH}


def test_no_primary_is_invalid_input():
    with pytest.raises(tierstore.TierStoreError.InvalidInput) as err:
        tierstore.TierStoreBuilder().backup_url("memory:").build()
    assert "primary" in str(err.value)


def test_unknown_url_scheme_names_the_url():
    with pytest.raises(tierstore.TierStoreError) as err:
        tierstore.TierStoreBuilder().primary_url("ftp://example.com/x").build()
    assert "ftp" in str(err.value)

