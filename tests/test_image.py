"""The Docker image, proved by running it: built from this checkout's ``Dockerfile``, started as
``compose.yaml`` starts it (``run --upgrade`` on PostgreSQL), it answers ``/healthz``, Docker
calls it healthy, it speaks Chinese on Telegram, ``doctor`` is green inside it, ``backup`` works
with the image's ``pg_dump``, it runs as a non-root user and stops cleanly; with SQLite on its
``/data`` volume it migrates, backs up and restores.

No image registry is reachable on the machines this runs on, so the base is made offline:
``debootstrap`` from Debian's packages, then ``docker import`` (``IMAGE_TEST_BASE`` names another
base instead), passed as the ``BASE`` build argument; the Python wheels are downloaded by the
host's pip into the build context (``wheelhouse/``, ``PIP_NO_INDEX=1``). The daemon runs without
a bridge network (``dockerd --bridge=none``, started by ``.ci/run``), so the build and the
containers use host networking and every connection stays on 127.0.0.1.

Slow (a minute or two to build): it runs in its own step of ``.ci/run``, ``TEST_IMAGE=1``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_run import STRANGER_ID, TOKEN, FakeTelegram, free_port

pytestmark = pytest.mark.skipif(
    os.environ.get("TEST_IMAGE") != "1",
    reason="the image test runs in its own step of .ci/run (TEST_IMAGE=1, a Docker daemon)")

ROOT = Path(__file__).resolve().parent.parent
BASE_TAG = "workshop-bot-test-base:bookworm"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
PG_ADMIN = os.environ.get("IMAGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DEADLINE = 90.0


def docker(*args: str, timeout: float = 120, check: bool = True,
           stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, timeout=timeout,
                            env={**os.environ, "DOCKER_BUILDKIT": "0"}, input=stdin)
    done = subprocess.CompletedProcess(result.args, result.returncode,
                                       result.stdout.decode("utf-8", "replace"),
                                       result.stderr.decode("utf-8", "replace"))
    if check:
        assert done.returncode == 0, f"docker {' '.join(args)}:\n{done.stdout[-3000:]}\n" \
                                     f"{done.stderr[-3000:]}"
    return done


def base_image(workdir: Path) -> str:
    """The offline base: Debian bookworm with python3 and venv, by debootstrap (kept once
    made, so a rerun on the same daemon skips it)."""
    if named := os.environ.get("IMAGE_TEST_BASE"):
        return named
    if docker("image", "inspect", BASE_TAG, check=False).returncode == 0:
        return BASE_TAG
    assert shutil.which("debootstrap"), "debootstrap is not installed (.ci/run installs it)"
    rootfs = workdir / "rootfs"
    made = subprocess.run(
        ["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
         "bookworm", str(rootfs), DEBIAN_MIRROR],
        capture_output=True, text=True, timeout=900)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True,
                         timeout=300, check=True)
    docker("import", "-", BASE_TAG, stdin=tar.stdout, timeout=300)
    shutil.rmtree(rootfs, ignore_errors=True)
    return BASE_TAG


def build_context(workdir: Path) -> Path:
    """What a clean clone holds (tracked and new files, nothing ignored), plus the wheels."""
    context = workdir / "context"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = context / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    wheelhouse = ["-d", str(context / "wheelhouse"), "-c", str(ROOT / "constraints.txt")]
    for wanted in ([f"{context}[ocr]", "setuptools", "wheel"],
                   ["--no-deps", "rapidocr==3.8.4"]):  # installed as the Dockerfile does
        downloaded = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             *wheelhouse, *wanted],
            capture_output=True, text=True, timeout=900)
        assert downloaded.returncode == 0, downloaded.stderr[-3000:]
    return context


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    info = docker("info", check=False)
    assert info.returncode == 0, f"no Docker daemon answers: {info.stderr.strip()[-500:]}"
    workdir = tmp_path_factory.mktemp("image")
    base = base_image(workdir)
    tag = f"workshop-bot-test:{uuid.uuid4().hex[:12]}"
    docker("build", "--network", "host", "--build-arg", f"BASE={base}",
           "--build-arg", "PIP_NO_INDEX=1", "-t", tag, str(build_context(workdir)),
           timeout=1800)
    yield tag
    docker("rmi", "--force", tag, check=False)
    docker("image", "prune", "--force", check=False)


async def _admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def database() -> Iterator[str]:
    """A database of its own on the host's PostgreSQL, as compose's ``db`` service gives."""
    name = f"image_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f"CREATE DATABASE {name}"))
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    asyncio.run(_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    # The stranger's phone speaks Chinese: the answer proves the image's catalogs.
    fake._updates[0]["message"]["from"]["language_code"] = "zh-hans"
    fake.thread.start()
    yield fake
    fake.server.shutdown()


def wait_healthy(name: str, port: int) -> str:
    deadline = time.monotonic() + DEADLINE
    health = status = ""
    while time.monotonic() < deadline:
        running = docker("inspect", "-f", "{{.State.Running}} {{.State.Health.Status}}", name)
        if not running.stdout.startswith("true"):
            break
        status = running.stdout.split()[-1]
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=3)
            health = f"{answer.status_code} {answer.text}"
        except httpx.TransportError:
            pass
        if health.startswith("200") and status == "healthy":
            break
        time.sleep(0.5)
    return f"{health} | {status}"


def test_the_image_runs_the_bot_on_postgresql(
    image: str, database: str, telegram: FakeTelegram
) -> None:
    name = f"workshop-bot-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    docker("run", "--detach", "--name", name, "--network", "host",
           "--health-interval", "1s", "--health-start-period", "60s",
           "-e", f"DATABASE_URL={database}", "-e", f"TELEGRAM_BOT_TOKEN={TOKEN}",
           "-e", f"TELEGRAM_API_BASE_URL={telegram.base_url}", "-e", "HTTP_HOST=127.0.0.1",
           "-e", f"HTTP_PORT={port}", image)  # the image's command: run --upgrade
    try:
        seen = wait_healthy(name, port)
        logs = docker("logs", name).stderr
        assert seen.startswith('200 {"ok":true'), f"{seen}\n{logs}"
        assert seen.endswith("| healthy"), f"{seen}\n{logs}"
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline and not telegram.sent_to(STRANGER_ID):
            time.sleep(0.2)
        [answer] = telegram.sent_to(STRANGER_ID)
        assert "邀请码" in answer, answer  # zh_CN, from the catalogs compiled into the image

        assert docker("exec", name, "id", "-u").stdout.strip() == "10001"  # not root
        doctor = docker("exec", name, "workshop-bot", "doctor", check=False)
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        for check in ("database", "schema", "telegram", "font", "catalogs", "plate-ocr"):
            assert any(line.split()[:2] == ["ok", check]
                       for line in doctor.stdout.splitlines()), f"{check}:\n{doctor.stdout}"

        backup = docker("exec", name, "workshop-bot", "backup", "/data/backups/today.dump",
                        check=False)
        assert backup.returncode == 0, backup.stdout + backup.stderr
        size = docker("exec", name, "stat", "-c", "%s", "/data/backups/today.dump").stdout
        assert int(size) > 1000, size

        started = time.monotonic()
        docker("stop", "--time", "30", name, timeout=60)
        assert time.monotonic() - started < 25, "the bot did not stop on SIGTERM"
        state = docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip()
        logs = docker("logs", name)
        assert state == "0", logs.stdout + logs.stderr
        assert "Traceback" not in logs.stdout + logs.stderr, logs.stderr
    finally:
        docker("rm", "--force", "--volumes", name, check=False)


def test_the_image_keeps_sqlite_on_its_volume(image: str) -> None:
    volume = f"workshop-bot-test-{uuid.uuid4().hex[:8]}"
    mount = ["--rm", "--network", "host", "-v", f"{volume}:/data"]
    try:
        upgrade = docker("run", *mount, image, "db", "upgrade", check=False)
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
        added = docker("run", *mount, image, "staff", "add", "--name", "王主管",
                       "--role", "supervisor", check=False)
        assert added.returncode == 0, added.stdout + added.stderr
        backup = docker("run", *mount, image, "backup", "/data/backups/copy.db", check=False)
        assert backup.returncode == 0, backup.stdout + backup.stderr
        restore = docker("run", *mount, "-e", "DATABASE_URL=sqlite:////data/restored.db",
                         image, "restore", "/data/backups/copy.db", check=False)
        assert restore.returncode == 0, restore.stdout + restore.stderr
        listed = docker("run", *mount, "-e", "DATABASE_URL=sqlite:////data/restored.db",
                        image, "staff", "list", check=False)
        assert listed.returncode == 0 and "王主管" in listed.stdout, listed.stdout + listed.stderr
        owner = docker("run", *mount, "--entrypoint", "stat", image, "-c", "%u",
                       "/data/workshop.db")
        assert owner.stdout.strip() == "10001", owner.stdout
    finally:
        docker("volume", "rm", "--force", volume, check=False)
