"""Schemathesis hooks for Keyward's contract test (tests/contract/schemathesis.sh).

Two things live here, each for a reason the OpenAPI document cannot carry:

1. The key schemathesis calls with. The management API lets a key disable,
   revoke, delete, rotate or narrow itself (DESIGN: taking away needs nothing
   beyond `admin` on `api-keys`), and the stateful phase finds the calling
   key's own id through `GET /api/v1/me` and the key list, so it will lock
   itself out sooner or later. Like an operator would, the auth provider
   below then issues a fresh administration key with the CLI
   (`keyward keys create`) and carries on; every re-issue is counted and
   printed with the answer that showed the old key was gone, so a key the
   server lost by mistake cannot hide in the count.

2. Rules that depend on the clock or on arithmetic, which JSON Schema cannot
   state: an expiry must lie in the future (and before the year 10000 in
   UTC), and a network may have no host bits set (`10.0.0.1/8` is refused:
   "did you mean 10.0.0.0/8?"). Generated bodies whose values are valid in
   the document but break one of these rules are moved to the nearest value
   that keeps them (a far-future instant in the same format; the network
   with its host bits cleared), so the positive checks test what the
   document can promise. Nothing else is changed, and a value the document
   refuses is never touched.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import subprocess
import sys
import threading

import requests
import schemathesis

BASE = os.environ["KEYWARD_CONTRACT_BASE"]
KEYWARD = os.environ["KEYWARD_CONTRACT_BIN"]
ORG = os.environ["KEYWARD_CONTRACT_ORG"]
SCOPES = ("admin:api-keys", "*:*")

_lock = threading.Lock()
_state = {"key": os.environ["KEYWARD_CONTRACT_KEY"], "reissued": 0}


def _usable(key: str) -> tuple[bool, str]:
    """Whether `key` still works as the administration key, and why not."""
    response = requests.get(f"{BASE}/api/v1/me", headers={"X-API-Key": key}, timeout=10)
    if response.status_code != 200:
        try:
            code = response.json().get("code")
        except ValueError:
            code = response.text[:100]
        return False, f"GET /api/v1/me answered {response.status_code} {code}"
    scopes = set(response.json().get("scopes", []))
    if not set(SCOPES) <= scopes:
        return False, f"its scopes no longer hold {' and '.join(SCOPES)}"
    return True, ""


def _reissue(why: str) -> str:
    _state["reissued"] += 1
    number = _state["reissued"]
    args = [KEYWARD, "keys", "create", "--org", ORG, "--name", f"Schemathesis {number}"]
    for scope in SCOPES:
        args += ["--scope", scope]
    key = subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()
    print(f"\n[contract] administration key re-issued (#{number}): {why}", file=sys.stderr)
    with open(os.environ["KEYWARD_CONTRACT_REISSUES"], "a", encoding="utf-8") as log:
        log.write(f"{why}\n")
    return key


@schemathesis.auth(refresh_interval=2)
class AdministrationKey:
    """X-API-Key with a key holding `admin:api-keys` and `*:*`, re-issued when lost."""

    def get(self, case, context):
        with _lock:
            ok, why = _usable(_state["key"])
            if not ok:
                _state["key"] = _reissue(why)
            return _state["key"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["X-API-Key"] = data


# --- rules JSON Schema cannot state -------------------------------------

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2}))?$")
# The document's own pattern, so that only networks it accepts are moved.
_NETWORK = re.compile(
    requests.get(f"{BASE}/api/v1/openapi.json", timeout=10).json()["components"]["schemas"]["Network"]["pattern"]
)


def _future(value):
    """A valid expiry for `value` (a string the document accepts), or `value`."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        return value
    try:
        if _DATE.match(value):
            at = dt.datetime.fromisoformat(value).replace(tzinfo=dt.timezone.utc)
            replacement = "9000-01-01"
        else:
            at = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            if at.tzinfo is None:
                return value
            at = at.astimezone(dt.timezone.utc)
            replacement = "9000-01-01T00:00:00Z"
    except ValueError:
        return value
    except OverflowError:
        # Past 9999-12-31 in UTC (a late instant with a negative offset).
        return "9000-01-01T00:00:00Z"
    now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    return replacement if at <= now else value


def _without_host_bits(value):
    if not isinstance(value, str) or not _NETWORK.search(value):
        return value
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return value
    if "/" in value and str(network.network_address) != value.split("/")[0]:
        return str(network)
    return value


@schemathesis.hook
def before_call(context, case, kwargs):
    # Every phase's requests pass here (the coverage phase's do not pass
    # `map_body`); schemathesis re-checks the case against the document
    # after the edit.
    body = case.body
    if not isinstance(body, dict):
        return
    if "expires_at" in body:
        body["expires_at"] = _future(body["expires_at"])
    networks = body.get("allowed_networks")
    if isinstance(networks, list):
        body["allowed_networks"] = [_without_host_bits(n) for n in networks]
