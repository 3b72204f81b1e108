"""What the bench scripts share: the release binary, its CLI, a key made the
way Keyward makes them, waiting for the server and signing in."""
import base64
import http.cookiejar
import os
import re
import secrets
import subprocess
import time
import urllib.parse
import urllib.request
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_DIR = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
BINARY = os.environ.get("KEYWARD_BIN", os.path.join(TARGET_DIR, "release", "keyward"))
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def build_release():
    """`cargo build --release` of the server (into CARGO_TARGET_DIR when set)."""
    subprocess.run(["cargo", "build", "--release", "--bin", "keyward"], cwd=ROOT, check=True)


def run(*args, stdin=None):
    """Runs the CLI; its standard output, stripped."""
    done = subprocess.run([BINARY, *args], input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"keyward {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


def new_secret_file(db):
    """The server secret file beside a SQLite database (`<database>.secret`,
    base64, mode 0600), as the first `keyward serve` would create it: the CLI
    refuses to make keys without it."""
    fd = os.open(db + ".secret", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")


def base62_checksum(body):
    value = zlib.crc32(body.encode())
    out = []
    for _ in range(6):
        out.append(BASE62[value % 62])
        value //= 62
    return "".join(reversed(out))


def new_key():
    """A well-formed key (ask_ + 58 base62 + CRC32 checksum) no server has issued."""
    body = "ask_" + "".join(secrets.choice(BASE62) for _ in range(58))
    return body + base62_checksum(body)


def wait_until_up(base, server=None, seconds=30):
    """Waits for /healthz; fails early if `server` (a Popen) exits."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if server is not None and server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode} at start")
        try:
            urllib.request.urlopen(base + "/healthz")
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{base} did not come up within {seconds}s")


def sign_in(base, email, password):
    """Signs in through the login form; an opener that carries the session cookie."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password}).encode()
    opener.open(urllib.request.Request(base + "/login", data=form, headers={"Origin": base}))
    opener.cookie_header = "; ".join(f"{c.name}={c.value}" for c in jar)
    return opener
