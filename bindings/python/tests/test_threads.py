"""Writes from several Python threads at once."""

import threading

import tierstore
from conftest import RecordingBackend, build_store

THREADS = 8
WRITES = 40


def run_threads(target):
    barrier = threading.Barrier(THREADS)
    errors = []

    def body(n):
        try:
            barrier.wait()
            target(n)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=body, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a writer thread hangs"
    assert errors == []


def test_threads_writing_their_own_keys_keep_call_order(tmp_path):
    backup = RecordingBackend("python-backup")
    store = build_store(tmp_path, "backup", backup)

    def writer(n):
        for i in range(WRITES):
            # Each thread's writes to its key are called in order: the last one must win.
            store.write("threads", "", f"t{n}", f"{n}:{i}".encode())
            store.write("threads", "", f"t{n}-{i}", b"x")

    run_threads(writer)
    for n in range(THREADS):
        assert store.read("threads", "", f"t{n}") == f"{n}:{WRITES - 1}".encode()
        assert backup.read("threads", "", f"t{n}") == f"{n}:{WRITES - 1}".encode()
    assert len(store.list("threads", "")) == THREADS * (WRITES + 1)
    assert store.verify().consistent
    store.close()


def test_threads_writing_one_key_leave_both_tiers_equal(tmp_path):
    """Concurrent writes to one key are applied in one order, the same in both tiers."""
    primary = RecordingBackend("python-primary")
    store = build_store(tmp_path, "primary", primary)
    written = set()
    lock = threading.Lock()

    def writer(n):
        for i in range(WRITES):
            value = f"{n}:{i}".encode()
            with lock:
                written.add(value)
            store.write("shared", "", "key", value)

    run_threads(writer)
    final = store.read("shared", "", "key")
    assert final in written
    assert primary.read("shared", "", "key") == final
    # The SQLite backup saw the same last write as the Python primary.
    report = store.verify()
    assert report.consistent, report
    store.close()


def test_threads_share_a_store_opened_by_url(tmp_path):
    store = tierstore.TierStoreBuilder().primary_url(f"sqlite:{tmp_path / 'p.db'}").build()

    def writer(n):
        for i in range(WRITES):
            store.write("urls", str(n), f"k{i}", bytes([n, i]))
            assert store.read("urls", str(n), f"k{i}") == bytes([n, i])

    run_threads(writer)
    assert sum(len(store.list("urls", str(n))) for n in range(THREADS)) == THREADS * WRITES
    store.close()
