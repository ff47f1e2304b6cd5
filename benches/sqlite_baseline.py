#!/usr/bin/env python3
"""The raw-rate baseline for the batch benchmark (README "Performance").

Python's sqlite3 `executemany` into a WAL, synchronous=FULL file: per entry one row
(integer key, 250-byte text, random 32-byte blob) plus two rows of (integer key, random
32-byte blob), one commit per 1,000 entries. Prints one line: `entries/s <rate>`.

Usage: sqlite_baseline.py [--entries N] [--dir DIR]
"""

import argparse
import os
import sqlite3
import tempfile
import time

BATCH = 1000
TEXT = "x" * 250


def run(path: str, entries: int) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE entries (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, leaf BLOB NOT NULL)")
    db.execute("CREATE TABLE hashes (idx INTEGER PRIMARY KEY, hash BLOB NOT NULL)")
    started = time.perf_counter()
    for first in range(0, entries, BATCH):
        seqs = range(first, min(first + BATCH, entries))
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO entries (seq, body, leaf) VALUES (?, ?, ?)",
            [(s, TEXT, os.urandom(32)) for s in seqs],
        )
        db.executemany(
            "INSERT INTO hashes (idx, hash) VALUES (?, ?)",
            [(2 * s + k, os.urandom(32)) for s in seqs for k in (0, 1)],
        )
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return entries / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--dir", default=None, help="folder for the database (default: a temp dir)")
    args = parser.parse_args()
    if args.entries < BATCH:
        parser.error(f"--entries must be at least {BATCH}")
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        rate = run(os.path.join(folder, "baseline.db"), args.entries)
    print(f"entries/s {rate:.0f}")


if __name__ == "__main__":
    main()
