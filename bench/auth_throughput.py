#!/usr/bin/env python3
"""Throughput of the key check on the hot path, measured with wrk.

Starts the release server on loopback against a fresh SQLite database with
10 000 keys (made the way Keyward makes them: ask_ + base62 + CRC32, stored as
HMAC-SHA-256 under the organization's signing key), then drives two pairs.
In each pair wrk sends the very same requests (same headers, same request
generator), once to a route without a key check and once through the full
key check, so the ratio is the cost of the check alone:

  (a) GET /healthz       one key in X-API-Key, not checked
  (b) GET /api/v1/ping   one key in X-API-Key, full key check       b/a
  (c) GET /healthz       10 000 keys in rotation, not checked
  (d) GET /api/v1/ping   10 000 keys in rotation, full key check    d/c

and prints req/s, p50, p99 and the ratios (median of RUNS runs).

    cargo build --release && python3 bench/auth_throughput.py

Environment: RUNS (3), DURATION (10s), CONNECTIONS (32), WORKERS (1), KEYS (10000),
PIN (1: server on CPU 0, wrk on CPU 1, with taskset).
wrk shares the machine's cores with the server: compare ratios, not absolutes.
"""
import base64
import hashlib
import hmac
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import uuid

from common import BINARY, ROOT, new_key, new_secret_file, run, wait_until_up

KEYS = int(os.environ.get("KEYS", "10000"))
RUNS = int(os.environ.get("RUNS", "3"))
DURATION = os.environ.get("DURATION", "10s")
CONNECTIONS = os.environ.get("CONNECTIONS", "32")
WORKERS = os.environ.get("WORKERS", "1")
PORT = int(os.environ.get("PORT", "18094"))
# Server and load generator on cores of their own, so the scheduler does not
# put them on one core for part of a run (that was most of the run-to-run noise).
PIN = shutil.which("taskset") and (os.cpu_count() or 1) >= 2 and os.environ.get("PIN", "1") == "1"
SERVER_CPU = ["taskset", "-c", "0"] if PIN else []
WRK_CPU = ["taskset", "-c", "1"] if PIN else []

def wrk(url, header=None, lua=None, keys_file=None, duration=DURATION, check=True):
    cmd = WRK_CPU + ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}", "--latency"]
    if header:
        cmd += ["-H", header]
    if lua:
        cmd += ["-s", lua]
    env = {**os.environ, "KEYS_FILE": keys_file or ""}
    out = subprocess.run(cmd + [url], capture_output=True, text=True, env=env, check=True).stdout
    if not check:
        return None
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} non-2xx answers\n{out}")

    def latency(p):
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(\w+)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return rps, latency(50), latency(99)


def main():
    work = tempfile.mkdtemp(prefix="keyward-bench-")
    db = os.path.join(work, "keyward.db")
    try:
        new_secret_file(db)
        run("orgs", "create", "--name", "Bench Air", "--slug", "bench", "--database-url", db)
        run("orgs", "bootstrap-keys", "--org", "bench", "--database-url", db)
        template = run("keys", "create", "--org", "bench", "--name", "template", "--database-url", db)
        server_secret = base64.b64decode(open(db + ".secret").read().strip())
        conn = sqlite3.connect(db)
        org_id, salt = conn.execute("SELECT id, key_salt FROM organizations").fetchone()
        signing_key = hmac.new(server_secret, b"keyward org signing v1" + org_id.encode() + salt.encode(),
                               hashlib.sha256).digest()
        key_row = conn.execute("SELECT * FROM api_keys").fetchone()
        key_cols = [d[0] for d in conn.execute("SELECT * FROM api_keys").description]
        secret_row = conn.execute("SELECT * FROM key_secrets").fetchone()
        secret_cols = [d[0] for d in conn.execute("SELECT * FROM key_secrets").description]
        assert hmac.new(signing_key, template.encode(), hashlib.sha256).hexdigest() == \
            dict(zip(secret_cols, secret_row))["digest"], "the digest construction matches Keyward's"
        tokens = []
        with conn:
            for i in range(KEYS):
                token = new_key()
                tokens.append(token)
                row = dict(zip(key_cols, key_row))
                row.update(id=str(uuid.uuid4()), name=f"bench {i}", name_key=f"bench {i}")
                conn.execute(f"INSERT INTO api_keys ({','.join(key_cols)}) VALUES ({','.join('?' * len(key_cols))})",
                             [row[c] for c in key_cols])
                srow = dict(zip(secret_cols, secret_row))
                srow.update(id=str(uuid.uuid4()), api_key_id=row["id"], key_id=token[4:16],
                            digest=hmac.new(signing_key, token.encode(), hashlib.sha256).hexdigest())
                conn.execute(f"INSERT INTO key_secrets ({','.join(secret_cols)}) VALUES ({','.join('?' * len(secret_cols))})",
                             [srow[c] for c in secret_cols])
                conn.execute("INSERT INTO key_scopes (api_key_id, action, resource, position) VALUES (?, '*', '*', 0)", [row["id"]])
                conn.execute("INSERT INTO key_networks (api_key_id, cidr, position) VALUES (?, '0.0.0.0/0', 0)", [row["id"]])
        conn.close()
        keys_file = os.path.join(work, "keys.txt")
        with open(keys_file, "w") as f:
            f.write("\n".join(tokens) + "\n")

        server = subprocess.Popen(
            SERVER_CPU + [BINARY, "serve", "--bind", f"127.0.0.1:{PORT}", "--workers", WORKERS, "--database-url", db],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "KEYWARD_LOG": "warn"})
        try:
            base = f"http://127.0.0.1:{PORT}"
            wait_until_up(base, server)
            lua = os.path.join(ROOT, "bench", "auth.lua")
            one_key = f"X-API-Key: {template}"
            # (label, url, wrk options, label of the baseline it is compared with)
            cases = [
                ("(a) /healthz, one key, unchecked", base + "/healthz", dict(header=one_key), None),
                ("(b) /api/v1/ping, one key", base + "/api/v1/ping", dict(header=one_key), "a"),
                (f"(c) /healthz, {KEYS} keys, unchecked", base + "/healthz", dict(lua=lua, keys_file=keys_file), None),
                (f"(d) /api/v1/ping, {KEYS} keys", base + "/api/v1/ping", dict(lua=lua, keys_file=keys_file), "c"),
            ]
            for _, url, options, _ in cases:  # warm-up: caches, connections
                wrk(url, duration="2s", check=False, **options)
            results = {}
            for _ in range(RUNS):
                for label, url, options, _ in cases:
                    results.setdefault(label, []).append(wrk(url, **options))
            print(f"wrk -t1 -c{CONNECTIONS} -d{DURATION}, server workers={WORKERS}, median of {RUNS} runs")
            print(f"{'case':38} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>10}")
            median_rps = {}
            for label, _, _, baseline in cases:
                runs = results[label]
                rps = statistics.median(r[0] for r in runs)
                median_rps[label[1]] = rps
                p50 = statistics.median(r[1] for r in runs)
                p99 = statistics.median(r[2] for r in runs)
                ratio = f"{label[1]}/{baseline} {rps / median_rps[baseline]:.2f}" if baseline else ""
                print(f"{label:38} {rps:10.0f} {p50:8.2f} {p99:8.2f} {ratio:>10}")
        finally:
            server.terminate()
            server.wait(timeout=15)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
