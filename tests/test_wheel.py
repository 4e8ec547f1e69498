"""The wheel carries what the bot needs at run time: built from this checkout, installed into a
new virtual environment outside it (not editable), it speaks Chinese and migrates a database.
Found by a new user: a non-editable install shipped no ``locales/``, so every zh_CN user
silently read English."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_speaks_chinese_and_migrates(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
         "--disable-pip-version-check", "-w", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (tmp_path / "dist").glob("workshop_bot-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    packages = Path(subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    # The wheel itself, not editable; its dependencies from the test's own environment (found
    # after the wheel's packages, and without the checkout's editable finder).
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--disable-pip-version-check", "--target", str(packages), str(wheel)],
        capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    (packages / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    home = tmp_path / "shop"
    home.mkdir()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{home / 'workshop.db'}",
           "PYTHONPATH": "", "TELEGRAM_BOT_TOKEN": ""}
    spoken = subprocess.run(
        [python, "-c", "import bot, bot.i18n; print(bot.__file__); "
         "print(bot.i18n.translations('zh_CN').gettext('What I can do'))"],
        cwd=home, env=env, capture_output=True, text=True, timeout=120)
    assert spoken.returncode == 0, spoken.stderr[-3000:]
    where, words = spoken.stdout.strip().splitlines()
    assert where.startswith(str(packages)), where  # the installed copy, not the checkout
    assert words == "我能做什么"

    upgraded = subprocess.run([python, "-m", "bot", "db", "upgrade"], cwd=home, env=env,
                              capture_output=True, text=True, timeout=300)
    assert upgraded.returncode == 0, upgraded.stderr[-3000:]
    current = subprocess.run([python, "-m", "bot", "db", "current"], cwd=home, env=env,
                             capture_output=True, text=True, timeout=300)
    assert current.returncode == 0 and "up to date" in current.stdout, (
        current.stdout, current.stderr)
