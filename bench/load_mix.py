#!/usr/bin/env python3
"""Holds a mixed loopback load on the release server and checks every answer.

Builds the release binary, starts it on a fresh SQLite database, provisions
keys through the CLI (`keyward keys create`) and the API (revoking and
disabling need the key's id), signs a System Administrator in, then runs wrk
for DURATION with bench/mix.lua, which picks each request from this mix and
checks its status against the one its kind must get:

  kind             request                                   expected
  valid-ping       GET /api/v1/ping, one of VALID_KEYS keys  200
  valid-me         GET /api/v1/me, the same keys              200
  invalid          a key with a wrong checksum (a typo)       401 invalid_key, no database read
  unknown          well-formed keys no one issued             401 invalid_key
  revoked          a revoked key                              401 key_revoked
  disabled         a disabled key                             401 key_disabled
  scope-denied     GET /api/v1/usage with read:flights        403 insufficient_scope
  network-denied   a key allowed from 10.0.0.0/8 only         403 ip_not_allowed
  backoffice-list  the API keys list, signed in               200
  backoffice-search  the list searched by name, signed in     200

It reports the requests sent, the unexpected statuses (per kind), wrk's
connection errors, p50/p99 latency over the whole mix, and the server's
resident memory (VmRSS) before, during (sampled each second) and after the
load. It exits non-zero on any unexpected status or connection error, if
the server died, or if RSS grew by more than RSS_GROWTH_MB.

    python3 bench/load_mix.py

Environment: DURATION (60, seconds), CONNECTIONS (8; wrk runs one thread
per connection, see mix.lua), VALID_KEYS (20), UNKNOWN_KEYS (8), WORKERS
(server workers, default one per core), PORT (18095), RSS_GROWTH_MB (32),
NO_BUILD (1: use the binary as it is), KEYWARD_BIN.

Unknown keys are refused, and charged to the client address's budget for
unknown keys: from one loopback address the budget would soon turn them into
429s, so the server runs with a budget this load never spends
(--invalid-key-budget). The key cache is bounded (--key-cache-capacity); this
mix keeps about VALID_KEYS + UNKNOWN_KEYS + 4 records in it, so memory should
settle within the first seconds and stay there.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from common import BINARY, ROOT, build_release, new_key, run, sign_in, wait_until_up

DURATION = int(os.environ.get("DURATION", "60"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "8"))
VALID_KEYS = int(os.environ.get("VALID_KEYS", "20"))
UNKNOWN_KEYS = int(os.environ.get("UNKNOWN_KEYS", "8"))
WORKERS = os.environ.get("WORKERS")
PORT = int(os.environ.get("PORT", "18095"))
RSS_GROWTH_MB = float(os.environ.get("RSS_GROWTH_MB", "32"))
PASSWORD = "correct horse battery staple"
EMAIL = "sam@load.test"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit("no VmRSS in /proc/PID/status")


def api(base, key, method, path, body=None):
    """One call of Keyward's API; (status, JSON body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"X-API-Key": key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def typo(key):
    """The key with one character of its random part changed: the checksum no longer matches."""
    i = 20
    return key[:i] + ("A" if key[i] != "A" else "B") + key[i + 1:]


def provision(db, base):
    """Organization, user and keys; the mix as (kind, weight, status, method, path, header, value)."""
    cli_db = ["--database-url", db]
    run("orgs", "create", "--name", "Load Air", "--slug", "load", *cli_db)
    run("users", "create", "--email", EMAIL, "--role", "system-administrator",
        "--org", "load", "--password-stdin", *cli_db, stdin=PASSWORD + "\n")
    run("orgs", "bootstrap-keys", "--org", "load", *cli_db)

    def cli_key(name, *options):
        return run("keys", "create", "--org", "load", "--name", name, *options, *cli_db)

    admin = cli_key("Load admin", "--scope", "admin:api-keys", "--scope", "read:flights")
    valid = [cli_key(f"Load valid {i:03d}", "--scope", "read:flights") for i in range(VALID_KEYS)]
    scope_denied = cli_key("Load scope-denied", "--scope", "read:flights")
    network_denied = cli_key("Load network-denied", "--scope", "read:flights", "--network", "10.0.0.0/8")

    def api_key(name, then):
        status, created = api(base, admin, "POST", "/api/v1/api-keys",
                              {"name": name, "scopes": ["read:flights"], "allowed_networks": ["0.0.0.0/0"]})
        assert status == 201, (status, created)
        status, changed = api(base, admin, "POST", f"/api/v1/api-keys/{created['id']}/{then}")
        assert status == 200, (status, changed)
        return created["secret"]

    revoked = api_key("Load revoked", "revoke")
    disabled = api_key("Load disabled", "disable")

    opener = sign_in(base, EMAIL, PASSWORD)
    page = opener.open(base + "/backoffice/settings/api-keys").read().decode()
    assert "Load valid 000" in page, "signed in, the list shows the keys"
    cookie = opener.cookie_header

    mix = []
    for key in valid:
        mix.append(("valid-ping", 1, 200, "GET", "/api/v1/ping", "X-API-Key", key))
        mix.append(("valid-me", 1, 200, "GET", "/api/v1/me", "X-API-Key", key))
    for key in valid[:4]:
        mix.append(("invalid", 2, 401, "GET", "/api/v1/ping", "X-API-Key", typo(key)))
    for _ in range(UNKNOWN_KEYS):
        mix.append(("unknown", 1, 401, "GET", "/api/v1/ping", "X-API-Key", new_key()))
    mix.append(("revoked", 8, 401, "GET", "/api/v1/ping", "X-API-Key", revoked))
    mix.append(("disabled", 8, 401, "GET", "/api/v1/ping", "X-API-Key", disabled))
    mix.append(("scope-denied", 8, 403, "GET", "/api/v1/usage", "X-API-Key", scope_denied))
    mix.append(("network-denied", 8, 403, "GET", "/api/v1/ping", "X-API-Key", network_denied))
    mix.append(("backoffice-list", 1, 200, "GET", "/backoffice/settings/api-keys", "Cookie", cookie))
    mix.append(("backoffice-search", 1, 200, "GET", "/backoffice/settings/api-keys?q=valid%2000&status=all",
                "Cookie", cookie))
    # Each kind answers as the mix says before the load starts.
    for kind, _, expected, method, path, name, value in mix:
        request = urllib.request.Request(base + path, method=method, headers={name: value})
        try:
            status = urllib.request.urlopen(request).status
        except urllib.error.HTTPError as error:
            status = error.code
        assert status == expected, f"{kind}: {status}, expected {expected}"
    return mix


def parse_wrk(output):
    result = {"sent": {}, "unexpected": {}}
    for line in output.splitlines():
        if not line.startswith("MIX "):
            continue
        words = line.split()[1:]
        if words[0] == "requests":
            result["requests"] = int(words[1])
        elif words[0] == "duration_us":
            result["seconds"] = int(words[1]) / 1e6
        elif words[0] == "errors":
            result["errors"] = dict(zip(words[1::2], map(int, words[2::2])))
        elif words[0] == "latency_us":
            result["latency_ms"] = {k: int(v) / 1000 for k, v in zip(words[1::2], words[2::2])}
        elif words[0] == "sent":
            result["sent"][words[1]] = int(words[2])
        elif words[0] == "unexpected":
            result["unexpected"][words[1]] = int(words[2])
    if "requests" not in result:
        raise SystemExit(f"wrk printed no results:\n{output}")
    return result


def main():
    if os.environ.get("NO_BUILD") != "1":
        build_release()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    work = tempfile.mkdtemp(prefix="keyward-load-")
    db = os.path.join(work, "keyward.db")
    log_path = os.path.join(work, "server.log")
    base = f"http://127.0.0.1:{PORT}"
    server = None
    failures = []
    try:
        # The first `serve` creates the database and its secret file; the
        # CLI then provisions beside it.
        serve = [BINARY, "serve", "--bind", f"127.0.0.1:{PORT}", "--database-url", db, "--insecure-cookies",
                 "--invalid-key-budget", "1000000000"]
        if WORKERS:
            serve += ["--workers", WORKERS]
        log = open(log_path, "w")
        server = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "KEYWARD_LOG": "warn"})
        wait_until_up(base, server)
        mix = provision(db, base)
        mix_file = os.path.join(work, "mix.tsv")
        with open(mix_file, "w") as f:
            for entry in mix:
                f.write("\t".join(map(str, entry)) + "\n")

        rss_before = rss_kib(server.pid)
        samples = []
        stop_sampling = threading.Event()

        def sample():
            while not stop_sampling.wait(1.0):
                if server.poll() is None:
                    samples.append(rss_kib(server.pid))

        sampler = threading.Thread(target=sample)
        sampler.start()
        command = ["wrk", f"-t{CONNECTIONS}", f"-c{CONNECTIONS}", f"-d{DURATION}s", "--timeout", "5s",
                   "-s", os.path.join(ROOT, "bench", "mix.lua"), base]
        wrk = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "MIX_FILE": mix_file})
        stop_sampling.set()
        sampler.join()
        if wrk.returncode != 0:
            raise SystemExit(f"wrk failed ({wrk.returncode}):\n{wrk.stdout}{wrk.stderr}")
        result = parse_wrk(wrk.stdout)
        time.sleep(3)  # idle: the usage flush and housekeeping run
        alive = server.poll() is None
        rss_after = rss_kib(server.pid) if alive else 0

        errors = result["errors"]
        connection_errors = sum(errors.values())
        unexpected = sum(result["unexpected"].values())
        sent = sum(result["sent"].values())
        mib = lambda kib: kib / 1024  # noqa: E731
        print(f"wrk -t{CONNECTIONS} -c{CONNECTIONS} -d{DURATION}s, mix of {len(result['sent'])} kinds "
              f"(bench/mix.lua), server workers={WORKERS or 'one per core'}")
        print(f"requests:           {result['requests']} answered ({sent} sent), "
              f"{result['requests'] / result['seconds']:.0f} req/s")
        for kind in sorted(result["sent"]):
            print(f"  {kind:18} {result['sent'][kind]:>9}")
        print(f"unexpected statuses: {unexpected}" +
              "".join(f"\n  {key}: {n}" for key, n in sorted(result["unexpected"].items())))
        print(f"connection errors:  {connection_errors} "
              f"(connect {errors['connect']}, read {errors['read']}, write {errors['write']}, "
              f"timeout {errors['timeout']})")
        lat = result["latency_ms"]
        print(f"latency:            p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms, max {lat['max']:.2f} ms")
        if samples:
            quarter = samples[len(samples) // 4]
            print(f"VmRSS:              before {mib(rss_before):.1f} MiB, during {mib(min(samples)):.1f}–"
                  f"{mib(max(samples)):.1f} MiB (at 1/4 {mib(quarter):.1f}, at the end {mib(samples[-1]):.1f}), "
                  f"after {mib(rss_after):.1f} MiB")
            every = max(1, len(samples) // 6)
            print("                    each second: " +
                  " ".join(f"{mib(kib):.1f}" for kib in samples[::every]) + " MiB (every " + str(every) + " s)")
            growth = mib(max(max(samples), rss_after) - rss_before)
            late_growth = mib(samples[-1] - quarter)
            print(f"                    growth {growth:.1f} MiB over the run, {late_growth:.1f} MiB after its "
                  f"first quarter (allowed: {RSS_GROWTH_MB:.0f} MiB)")
            if growth > RSS_GROWTH_MB:
                failures.append(f"resident memory grew by {growth:.1f} MiB")
        if unexpected:
            failures.append(f"{unexpected} unexpected statuses")
        if connection_errors:
            failures.append(f"{connection_errors} connection errors")
        if not alive:
            failures.append(f"the server exited with {server.returncode}")
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=15)
        if failures and os.path.exists(log_path):
            print("server log (warnings and errors), last lines:", file=sys.stderr)
            print("".join(open(log_path).readlines()[-30:]), file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("FAILED: " + "; ".join(failures), file=sys.stderr)
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
