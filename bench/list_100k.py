#!/usr/bin/env python3
"""Times the API keys list with 100 000 keys in one organization.

Builds the release binary's database through Keyward's own CLI (organization,
user, key set-up, one real key), then copies that key's rows 100 000 times
with fresh ids straight into SQLite, starts `keyward serve`, signs in and
times list requests: first page, a deep page, a search, each status filter,
the orders and the capability filter ("Can", "Resource").

    cargo build --release && python3 bench/list_100k.py

Prints the median of 5 requests per case, and its ratio to the first page.
Loopback only; stops the server it started.
"""
import os
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid

from common import BINARY, new_secret_file, run, sign_in, wait_until_up

KEYS = int(os.environ.get("KEYS", "100000"))
PORT = int(os.environ.get("PORT", "18093"))
PASSWORD = "correct horse battery staple"


def main():
    work = tempfile.mkdtemp(prefix="keyward-bench-")
    db = os.path.join(work, "keyward.db")
    env_db = ["--database-url", db]
    try:
        new_secret_file(db)
        run("orgs", "create", "--name", "Bench Air", "--slug", "bench", *env_db)
        run("users", "create", "--email", "sam@bench.test", "--role", "system-administrator",
            "--org", "bench", "--password-stdin", *env_db, stdin=PASSWORD + "\n")
        run("orgs", "bootstrap-keys", "--org", "bench", *env_db)
        run("keys", "create", "--org", "bench", "--name", "template", "--scope", "read:assets", *env_db)

        started = time.time()
        conn = sqlite3.connect(db)
        key = conn.execute("SELECT * FROM api_keys").fetchone()
        key_cols = [d[0] for d in conn.execute("SELECT * FROM api_keys").description]
        secret = conn.execute("SELECT * FROM key_secrets").fetchone()
        secret_cols = [d[0] for d in conn.execute("SELECT * FROM key_secrets").description]
        statuses = ["active", "active", "active", "disabled", "revoked"]
        with conn:
            for i in range(KEYS):
                row = dict(zip(key_cols, key))
                row["id"] = str(uuid.uuid4())
                row["name"] = f"Integration {i:06d}"
                row["name_key"] = row["name"].lower()  # the unique, case-folded name
                row["created_at"] = f"2026-{1 + i % 11:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00"
                row["enabled"] = 0 if statuses[i % 5] == "disabled" else 1
                row["revoked_at"] = row["created_at"] if statuses[i % 5] == "revoked" else None
                conn.execute(f"INSERT INTO api_keys ({','.join(key_cols)}) VALUES ({','.join('?' * len(key_cols))})",
                             [row[c] for c in key_cols])
                srow = dict(zip(secret_cols, secret))
                srow.update(id=str(uuid.uuid4()), api_key_id=row["id"], key_id=uuid.uuid4().hex[:12])
                conn.execute(f"INSERT INTO key_secrets ({','.join(secret_cols)}) VALUES ({','.join('?' * len(secret_cols))})",
                             [srow[c] for c in secret_cols])
                conn.execute("INSERT INTO key_scopes (api_key_id, action, resource, position) VALUES (?, 'read', 'assets', 0)", [row["id"]])
                conn.execute("INSERT INTO key_networks (api_key_id, cidr, position) VALUES (?, '0.0.0.0/0', 0)", [row["id"]])
        conn.execute("ANALYZE")
        conn.close()
        print(f"seeded {KEYS} keys in {time.time() - started:.1f}s")

        server = subprocess.Popen([BINARY, "serve", "--bind", f"127.0.0.1:{PORT}", "--insecure-cookies", *env_db],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, "KEYWARD_LOG": "warn"})
        try:
            base = f"http://127.0.0.1:{PORT}"
            wait_until_up(base, server)
            opener = sign_in(base, "sam@bench.test", PASSWORD)

            cases = [
                ("first page (active)", "/backoffice/settings/api-keys"),
                ("page 2000 (active)", "/backoffice/settings/api-keys?page=2000"),
                ("all statuses, last page", f"/backoffice/settings/api-keys?status=all&page={KEYS // 25}"),
                ("revoked", "/backoffice/settings/api-keys?status=revoked"),
                ("search by name", "/backoffice/settings/api-keys?q=Integration%2009999&status=all"),
                ("htmx table fragment", "/backoffice/settings/api-keys?status=all"),
                ("sorted by name, page 2000", "/backoffice/settings/api-keys?status=all&sort=name-asc&page=2000"),
                ("sorted by valid until", "/backoffice/settings/api-keys?status=all&sort=valid-until-asc"),
                ("sorted by last used", "/backoffice/settings/api-keys?status=all&sort=last-used-desc"),
                ("expiring soon", "/backoffice/settings/api-keys?status=expiring"),
                # The capability filter weighs every key's scopes in Rust:
                # one that every key passes, and one that none does.
                ("can read assets/42, page 2000", "/backoffice/settings/api-keys?status=all&can=read&resource=assets/42&page=2000"),
                ("can write assets (none)", "/backoffice/settings/api-keys?status=all&can=write&resource=assets"),
            ]
            results = []
            for label, path in cases:
                headers = {"HX-Request": "true"} if "fragment" in label else {}
                timings = []
                for _ in range(5):
                    started = time.perf_counter()
                    body = opener.open(urllib.request.Request(base + path, headers=headers)).read()
                    timings.append((time.perf_counter() - started) * 1000)
                    assert b"API keys" in body or b"keys-table" in body, body[:200]
                results.append((label, statistics.median(timings)))
            first = results[0][1]
            print(f"{'case':32} {'median ms':>10} {'ratio':>7}")
            for label, ms in results:
                print(f"{label:32} {ms:10.1f} {ms / first:7.2f}")
        finally:
            server.terminate()
            server.wait(timeout=10)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
