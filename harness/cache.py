"""Response cache: model responses in one SQLite file, keyed by model fingerprint + request.

A row is (fingerprint, kind, request hash) -> the response as JSON: `[logprob, is_greedy]` for a
log-likelihood, the text for a generation, a number for a rolling log-likelihood. Python's JSON writes
floats with `repr`, so a cached log-probability reads back bit for bit. The file is in WAL mode with a
busy timeout, so several evalh processes can share it; writes are committed in small batches as
responses arrive, so a killed run loses at most the batch in flight.

Any SQLite failure (a corrupt, locked or unreadable file) becomes a `CacheError` that names the file
and the fix, never a traceback.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.errors import EvalhError
from harness.requests import Generate, Loglikelihood, Request, Rolling

FILE_NAME = "responses.sqlite"
SCHEMA_VERSION = "1"
_KINDS: dict[type, str] = {Loglikelihood: "loglikelihood", Generate: "generate", Rolling: "rolling"}
_SQL_VARS = 400  # keys per SELECT ... IN (...), well under SQLite's parameter limit
_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    fingerprint TEXT NOT NULL, kind TEXT NOT NULL, request_hash TEXT NOT NULL,
    response TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (fingerprint, kind, request_hash)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (fingerprint TEXT PRIMARY KEY, name TEXT NOT NULL, seen_at REAL NOT NULL);
"""
# `models` names each fingerprint (the name the user gave: alias, path, hub id) for `evalh cache info/clear`;
# a file written before it existed gets the table on open, and its fingerprints show without a name.


class CacheError(EvalhError):
    """The response cache file cannot be opened, read or written."""


def default_cache_path(cache_dir: str | Path | None = None) -> Path:
    """`<cache root>/responses.sqlite` (harness.paths.cache_root)."""
    from harness.paths import cache_root

    return cache_root(cache_dir) / FILE_NAME


def request_kind(request: Request) -> str:
    """'loglikelihood', 'generate' or 'rolling'."""
    return _KINDS[type(request)]


def request_hash(request: Request) -> str:
    """sha256 of a canonical JSON of the request's kind and fields (tuples become lists).

    A greedy generation (no `sampling`) leaves the field out, so its key is the one it had before sampled
    generations existed and cached greedy responses stay valid; a sampled one is keyed by its prompt,
    budget, stops, temperature, top_p, top_k, seed and repeat index."""
    payload = {"kind": request_kind(request), **asdict(request)}
    if payload.get("sampling", 0) is None:
        del payload["sampling"]
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def encode_response(request: Request, response: object) -> str:
    """The JSON stored for a response; floats keep every bit (JSON writes them with repr)."""
    if isinstance(request, Loglikelihood):
        logprob, is_greedy = response  # type: ignore[misc]
        return json.dumps([float(logprob), bool(is_greedy)])
    if isinstance(request, Generate):
        return json.dumps(str(response), ensure_ascii=False)
    return json.dumps(float(response))  # type: ignore[arg-type]


def decode_response(request: Request, text: str) -> object:
    """The adapter-shaped response: (logprob, is_greedy), str, or float."""
    value = json.loads(text)
    if isinstance(request, Loglikelihood):
        return float(value[0]), bool(value[1])
    if isinstance(request, Generate):
        return str(value)
    return float(value)


@dataclass(frozen=True)
class CacheInfo:
    """What `evalh cache info` shows."""

    path: Path
    size_bytes: int
    entries: dict[str, dict[str, int]]  # fingerprint -> kind -> rows
    names: dict[str, str] = field(default_factory=dict)  # fingerprint -> the model name last stored with it

    @property
    def total(self) -> int:
        return sum(n for kinds in self.entries.values() for n in kinds.values())


class ResponseCache:
    """A SQLite response cache; open with `ResponseCache.open(path)`, close when done."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path, self._db = path, connection

    @classmethod
    def open(cls, path: str | Path, *, timeout_s: float = 30.0) -> "ResponseCache":
        """Open (creating if needed) the cache at `path`; a bad file is a CacheError naming the fix."""
        path = Path(path).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(_message(path, f"cannot create its folder ({exc.strerror})")) from None
        connection = None
        try:
            connection = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None,
                                         check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.executescript(_SCHEMA)
            connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            found = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        except sqlite3.Error as exc:
            if connection is not None:
                connection.close()
            raise CacheError(_message(path, str(exc))) from None
        if found != SCHEMA_VERSION:
            connection.close()
            raise CacheError(_message(path, f"it has schema version {found}, this evalh writes {SCHEMA_VERSION}"))
        return cls(path, connection)

    def close(self) -> None:
        """Close the connection (committed rows are already on disk)."""
        self._db.close()

    def __enter__(self) -> "ResponseCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._db
        except sqlite3.Error as exc:
            raise CacheError(_message(self.path, str(exc))) from None

    def get_many(self, fingerprint: str, requests: Sequence[Request]) -> dict[Request, object]:
        """The cached responses among `requests` (those not cached are absent)."""
        keys: dict[tuple[str, str], Request] = {(request_kind(r), request_hash(r)): r for r in requests}
        found: dict[Request, object] = {}
        by_kind: dict[str, list[str]] = {}
        for kind, digest in keys:
            by_kind.setdefault(kind, []).append(digest)
        with self._guard() as db:
            for kind, digests in by_kind.items():
                for start in range(0, len(digests), _SQL_VARS):
                    chunk = digests[start:start + _SQL_VARS]
                    rows = db.execute(
                        "SELECT request_hash, response FROM responses WHERE fingerprint = ? AND kind = ? "
                        f"AND request_hash IN ({','.join('?' * len(chunk))})", (fingerprint, kind, *chunk))
                    for digest, text in rows:
                        request = keys[(kind, digest)]
                        found[request] = decode_response(request, text)
        return found

    def put_many(self, fingerprint: str, pairs: Iterable[tuple[Request, object]]) -> int:
        """Store responses in one committed transaction; returns how many rows were written."""
        now = time.time()
        rows = [(fingerprint, request_kind(r), request_hash(r), encode_response(r, response), now)
                for r, response in pairs]
        if not rows:
            return 0
        with self._guard() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)", rows)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return len(rows)

    def name_model(self, fingerprint: str, name: str) -> None:
        """Remember the model name behind `fingerprint` (shown by `cache info`, accepted by `cache clear`)."""
        with self._guard() as db:
            db.execute("INSERT OR REPLACE INTO models VALUES (?, ?, ?)", (fingerprint, name, time.time()))

    def info(self) -> CacheInfo:
        """Path, size on disk (with the WAL file), rows per fingerprint and kind, and the models' names."""
        entries: dict[str, dict[str, int]] = {}
        with self._guard() as db:
            for fingerprint, kind, count in db.execute(
                    "SELECT fingerprint, kind, COUNT(*) FROM responses GROUP BY fingerprint, kind ORDER BY fingerprint"):
                entries.setdefault(fingerprint, {})[kind] = count
            names = dict(db.execute("SELECT fingerprint, name FROM models"))
        return CacheInfo(path=self.path, size_bytes=_size_on_disk(self.path), entries=entries,
                         names={fp: names[fp] for fp in entries if fp in names})

    def fingerprints_of(self, model: str) -> list[str]:
        """The fingerprints with cached responses that are `model` itself or were stored under that name."""
        info = self.info()
        return sorted(fp for fp in info.entries if fp == model or info.names.get(fp) == model)

    def clear(self, fingerprint: str | None = None) -> int:
        """Delete every row, or the rows of one fingerprint; returns how many were deleted."""
        with self._guard() as db:
            if fingerprint is None:
                deleted = db.execute("DELETE FROM responses").rowcount
            else:
                deleted = db.execute("DELETE FROM responses WHERE fingerprint = ?", (fingerprint,)).rowcount
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            if fingerprint is None:
                db.execute("VACUUM")
        return deleted


def remove_cache_file(path: Path) -> list[Path]:
    """Delete the cache file and its WAL/SHM companions (the fix for a corrupt file); returns what was removed."""
    removed = []
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            candidate.unlink()
            removed.append(candidate)
    return removed


def _size_on_disk(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def _message(path: Path, problem: str) -> str:
    return (f"response cache {path} is unusable: {problem}. Delete it with `evalh cache clear` "
            f"(or choose another file with --cache-dir), or run without it: --no-cache")
