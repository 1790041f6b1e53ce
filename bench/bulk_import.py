"""python -m bench.bulk_import: `switchboard import` of N end users into an empty database.

Writes a JSON Lines file (one tenant and its domain, groups of up to 1,000 users, then the users,
each with the fields a migration typically carries), initialises an empty database of the chosen
engine, then runs the real command in a child process and reports its wall time, rows per second,
peak memory (the child's maximum RSS) and its CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine.url import make_url

from switchboard.db.engine import sync_url

GROUP_SIZE = 1000


def write_file(path: Path, users: int) -> int:
    """The import file; returns its row count."""
    rows = 0
    with path.open("w", encoding="utf-8") as out:

        def emit(record: dict[str, object]) -> None:
            nonlocal rows
            out.write(json.dumps(record) + "\n")
            rows += 1

        emit({"kind": "tenant", "tenantId": "migrated", "type": "Enterprise", "name": "Migrated Ltd"})
        emit({"kind": "domain", "tenantId": "migrated", "domain": "migrated.example"})
        groups = (users + GROUP_SIZE - 1) // GROUP_SIZE
        for group in range(groups):
            group_id = f"g{group:05d}"
            emit({"kind": "group", "tenantId": "migrated", "groupId": group_id, "userLimit": GROUP_SIZE})
        for user in range(users):
            emit(
                {
                    "kind": "user",
                    "tenantId": "migrated",
                    "groupId": f"g{user // GROUP_SIZE:05d}",
                    "userId": f"user{user:07d}@migrated.example",
                    "firstName": "Ada",
                    "lastName": f"Lovelace{user}",
                    "extension": str(1_000_000 + user),
                    "phoneNumber": f"+4420{user:08d}",
                    "emailAddress": f"user{user:07d}@migrated.example",
                    "title": "Agent",
                }
            )
    return rows


def fresh_database(engine: str, workdir: Path, pg_url: str) -> str:
    if engine == "sqlite":
        path = workdir / "import.db"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    name = "sb_bench_import"
    admin = create_engine(sync_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(pg_url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("SWITCHBOARD_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "switchboard-bench")
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    source = args.workdir / f"import-{args.users}.jsonl"
    rows = write_file(source, args.users)
    data_dir = args.workdir / "import-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    url = fresh_database(args.engine, args.workdir, args.pg_url)
    env = {**os.environ, "SWITCHBOARD_DATA_DIR": str(data_dir), "SWITCHBOARD_DATABASE_URL": url}
    switchboard = [sys.executable, "-m", "switchboard"]
    subprocess.run([*switchboard, "init"], env=env, check=True, capture_output=True)
    command = [*switchboard, "import", str(source)]
    if args.batch_size:
        command += ["--batch-size", str(args.batch_size)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = after.ru_maxrss / 1024
    # The command's own CPU time (not the PostgreSQL server's): steadier than wall time when
    # other work shares the machine.
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(done.stdout[-2000:], done.stderr[-2000:])
    result = {
        "engine": args.engine,
        "users": args.users,
        "rows": rows,
        "exit": done.returncode,
        "seconds": round(seconds, 1),
        "rows_per_second": round(rows / seconds),
        "peak_rss_mb": round(peak_mb),
        "cpu_seconds": round(cpu, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
