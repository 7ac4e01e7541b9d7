"""A TierStore backend written in Python: a thread-safe in-memory dict.

A template for a backend of your own (a database your platform already has, a company
service): subclass ``tierstore.ForeignBackend`` and implement its seven methods. TierStore
calls them from its own threads, several at once, so guard shared state with a lock.

The contract (the same as the Rust ``Backend`` trait's):

- ``read`` of a missing key raises ``TierStoreError.NotFound``; ``remove`` of a missing key
  succeeds.
- ``list_page`` returns at most ``limit`` keys, newest-created first. An update keeps a key's
  position; remove then re-create moves it to the front. The token is this backend's own
  opaque string; a token it did not issue raises ``TierStoreError.InvalidInput``. A token
  resumes after the key it points at even if that key has been removed since.
- Raise ``TierStoreError.Transient`` for failures that may pass (a lost connection), and
  ``TierStoreError.Backend`` for anything else. Any other exception arrives in Rust as a
  backend error too; it never crashes the process.

Keys arrive already validated against LDK's rules.
"""

import bisect
import itertools
import threading

from tierstore import ForeignBackend, KeyPage, StoreKey, TierStoreError

_TOKEN_PREFIX = "dict1:"


class _Namespace:
    """The keys of one namespace pair in creation order, with O(log n + page) pages."""

    def __init__(self):
        self.entries = {}  # key -> (creation sequence number, value)
        self.seqs = []  # creation sequence numbers of live keys, ascending
        self.key_of = {}  # creation sequence number -> key


class DictBackend(ForeignBackend):
    """An in-memory backend: every value in a dict, pages newest-created first."""

    def __init__(self, name="python-dict"):
        self._name = name
        self._lock = threading.Lock()
        self._namespaces = {}  # (primary, secondary) -> _Namespace
        self._seq = itertools.count(1)

    def name(self):
        return self._name

    def read(self, primary_namespace, secondary_namespace, key):
        with self._lock:
            ns = self._namespaces.get((primary_namespace, secondary_namespace))
            if ns is None or key not in ns.entries:
                raise TierStoreError.NotFound(f"{key} not found")
            return ns.entries[key][1]

    def write(self, primary_namespace, secondary_namespace, key, value):
        with self._lock:
            ns = self._namespaces.setdefault((primary_namespace, secondary_namespace), _Namespace())
            if key in ns.entries:
                # An update keeps the key's creation position.
                seq = ns.entries[key][0]
            else:
                seq = next(self._seq)
                ns.seqs.append(seq)  # sequence numbers only grow: the list stays sorted
                ns.key_of[seq] = key
            ns.entries[key] = (seq, bytes(value))

    def remove(self, primary_namespace, secondary_namespace, key, lazy):
        with self._lock:
            ns = self._namespaces.get((primary_namespace, secondary_namespace))
            if ns is None or key not in ns.entries:
                return
            seq, _ = ns.entries.pop(key)
            del ns.key_of[seq]
            del ns.seqs[bisect.bisect_left(ns.seqs, seq)]
            if not ns.entries:
                del self._namespaces[(primary_namespace, secondary_namespace)]

    def list(self, primary_namespace, secondary_namespace):
        with self._lock:
            ns = self._namespaces.get((primary_namespace, secondary_namespace))
            return list(ns.entries) if ns else []

    def list_page(self, primary_namespace, secondary_namespace, token, limit):
        end = _parse_token(token)
        with self._lock:
            ns = self._namespaces.get((primary_namespace, secondary_namespace))
            if ns is None:
                return KeyPage(keys=[], next_token=None)
            # Keys created before the token's key: everything left of it in `seqs`.
            stop = len(ns.seqs) if end is None else bisect.bisect_left(ns.seqs, end)
            start = max(0, stop - limit)
            seqs = ns.seqs[start:stop][::-1]
            keys = [ns.key_of[seq] for seq in seqs]
            more = start > 0
        next_token = f"{_TOKEN_PREFIX}{seqs[-1]}" if seqs and more else None
        return KeyPage(keys=keys, next_token=next_token)

    def list_all_keys(self):
        with self._lock:
            return [
                StoreKey(primary_namespace=p, secondary_namespace=s, key=k)
                for (p, s), ns in self._namespaces.items()
                for k in ns.entries
            ]

    # Not part of the interface: for tests and tools.
    def snapshot(self):
        """Every key and value: {(primary, secondary, key): value}."""
        with self._lock:
            return {
                (p, s, k): value
                for (p, s), ns in self._namespaces.items()
                for k, (_, value) in ns.entries.items()
            }


def _parse_token(token):
    """The creation sequence number a token resumes before, or None for the first page."""
    if token is None:
        return None
    if not token.startswith(_TOKEN_PREFIX) or not token[len(_TOKEN_PREFIX):].isdigit():
        raise TierStoreError.InvalidInput(f"malformed page token {token!r}")
    return int(token[len(_TOKEN_PREFIX):])
