"""`python app.py` as a child process: started in a working directory of its own with an
explicit environment, output kept in files, probed over HTTP, stopped by signal."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

APP_PY = Path(__file__).resolve().parents[1] / "app.py"


class AppProcess:
    """One `python app.py` child; output goes to files so pipes can never fill up."""

    def __init__(self, cwd: Path, env: dict[str, str], args: tuple[str, ...], name: str) -> None:
        self.cwd, self.env, self.args = cwd, env, args
        self.port = int(env.get("PORT", "3000"))
        self.url = f"http://127.0.0.1:{self.port}"
        self.stdout_path = cwd.parent / f"{name}.stdout"
        self.stderr_path = cwd.parent / f"{name}.stderr"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(APP_PY),
                *self.args,
                cwd=self.cwd,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    async def wait_exit(self, timeout: float = 15) -> int:  # noqa: ASYNC109
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def get(self, path: str) -> tuple[int, str, str]:
        timeout = aiohttp.ClientTimeout(total=2)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(self.url + path) as resp,
        ):
            return resp.status, resp.headers.get("Content-Type", ""), await resp.text()

    async def wait_healthy(self, timeout: float = 15) -> None:  # noqa: ASYNC109
        assert self.proc is not None
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self.proc.returncode is not None:
                raise AssertionError(
                    f"app exited with {self.proc.returncode} before serving:\n{self.stderr}"
                )
            try:
                status, _, body = await self.get("/healthz")
                if status == 200:
                    assert json.loads(body) == {"status": "ok"}
                    return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"/healthz not up within {timeout}s:\n{self.stderr}")
            await asyncio.sleep(0.1)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        return await self.wait_exit(10)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def wait_for_log(self, event: str, timeout: float = 10) -> dict[str, Any]:  # noqa: ASYNC109
        """The first JSON log line with this event, once the app has written it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [line for line in self.log_lines() if line.get("event") == event]
            if found:
                return found[0]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no {event!r} log line within {timeout}s:\n{self.stderr}")
            await asyncio.sleep(0.05)

    def log_lines(self) -> list[dict[str, Any]]:
        """stderr, one JSON object per line (fails on any other line)."""
        lines = []
        complete = self.stderr.split("\n")[:-1]  # the part after the last newline is unfinished
        for raw in complete:
            if raw.strip():
                try:
                    lines.append(json.loads(raw))
                except json.JSONDecodeError:
                    raise AssertionError(f"not a JSON log line: {raw!r}") from None
        return lines


Launcher = Callable[..., AppProcess]


class ProcessPool:
    """App processes sharing one fresh working directory (``<tmp_path>/run``, so no .env is
    read: only the environment given counts); ``kill_all()`` ends any left running."""

    def __init__(self, tmp_path: Path, prefix: str) -> None:
        self.workdir = tmp_path / "run"
        self.workdir.mkdir()
        self.home = os.environ.get("HOME", str(tmp_path))
        self.prefix = prefix
        self.started: list[AppProcess] = []

    def base_env(self) -> dict[str, str]:
        """PATH and HOME; everything else a process gets is up to the test."""
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home}

    def new(self, env: dict[str, str], args: tuple[str, ...]) -> AppProcess:
        process = AppProcess(self.workdir, env, args, f"{self.prefix}{len(self.started)}")
        self.started.append(process)
        return process

    async def kill_all(self) -> None:
        for process in self.started:
            await process.kill()
