#!/usr/bin/env python3
"""The raw-rate PostgreSQL baseline for the batch benchmark (docs/performance.md).

The rows the append path writes, without the service: per entry one `entries` row (bigint
key, 330-byte body), two `tree_hashes` rows (bigint key, 32-byte hash) and one
`record_ids` row (org, scope, id, seq, with its primary key and (org, seq) index, as in
migrations/postgres). One client (`psql`, reading SQL from a pipe) sends one multi-row
INSERT per table in each 1,000-entry transaction; `synchronous_commit` is left at the
server's default (on), as the service leaves it. Prints one line: `entries/s <rate>`.

Usage: postgres_baseline.py --database-url postgres://… [--entries N]
The database must exist and be empty of these tables; they are created and dropped.
"""

import argparse
import os
import subprocess
import sys
import time

BATCH = 1000
BODY = "x" * 330

SCHEMA = """
SET client_min_messages = warning;
DROP TABLE IF EXISTS baseline_entries, baseline_tree_hashes, baseline_record_ids;
CREATE TABLE baseline_entries (seq BIGINT PRIMARY KEY, body BYTEA NOT NULL);
CREATE TABLE baseline_tree_hashes (idx BIGINT PRIMARY KEY, hash BYTEA NOT NULL);
CREATE TABLE baseline_record_ids (
    org TEXT NOT NULL, scope TEXT NOT NULL, id TEXT NOT NULL, seq BIGINT NOT NULL,
    PRIMARY KEY (org, scope, id));
CREATE INDEX baseline_record_ids_by_org_seq ON baseline_record_ids (org, seq);
"""


def hex_bytes(n: int) -> str:
    return "'\\x" + os.urandom(n).hex() + "'"


def batch_sql(first: int, last: int) -> str:
    body = "'\\x" + BODY.encode().hex() + "'"
    entries = ",".join(f"({s},{body})" for s in range(first, last))
    hashes = ",".join(f"({2 * s + k},{hex_bytes(32)})" for s in range(first, last) for k in (0, 1))
    ids = ",".join(f"('bench-org','donation','d{s}',{s})" for s in range(first, last))
    return (
        "BEGIN;\n"
        f"INSERT INTO baseline_entries (seq, body) VALUES {entries};\n"
        f"INSERT INTO baseline_tree_hashes (idx, hash) VALUES {hashes};\n"
        f"INSERT INTO baseline_record_ids (org, scope, id, seq) VALUES {ids};\n"
        "COMMIT;\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--entries", type=int, default=300_000)
    args = parser.parse_args()
    if args.entries < BATCH:
        sys.exit(f"--entries must be at least {BATCH}")
    psql = ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", args.database_url]
    subprocess.run(psql, input=SCHEMA, text=True, check=True)
    # The SQL is generated before the clock starts: only PostgreSQL's work is timed.
    script = "".join(
        batch_sql(first, min(first + BATCH, args.entries))
        for first in range(0, args.entries, BATCH)
    )
    started = time.perf_counter()
    subprocess.run(psql, input=script, text=True, check=True)
    elapsed = time.perf_counter() - started
    subprocess.run(
        psql,
        input="DROP TABLE baseline_entries, baseline_tree_hashes, baseline_record_ids;",
        text=True,
        check=True,
    )
    print(f"entries/s {args.entries / elapsed:.0f}")


if __name__ == "__main__":
    main()
