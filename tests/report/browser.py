"""Open a local page in headless Chromium and read back what it rendered and logged.

Speaks the Chrome DevTools Protocol over ``--remote-debugging-pipe`` (file descriptors 3
and 4, NUL-terminated JSON), so the tests need Debian's ``chromium`` and nothing from PyPI.
The network is off: the page is opened offline (``Network.emulateNetworkConditions``) and
behind a proxy that does not exist, so a report that needs a CDN fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class PageErrors(list):
    """Console errors, uncaught exceptions and failed loads seen while the page was open."""


class Chromium:
    def __init__(self, executable: str) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="hpo-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire_pipes() -> None:  # in the child: Chromium reads fd 3 and writes fd 4
            read_end, write_end = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self._process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={self._profile.name}", "--proxy-server=127.0.0.1:9", "--no-first-run",
             "--no-default-browser-check",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes, close_fds=False,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    # -- protocol --------------------------------------------------------------------------
    def _send(self, method: str, params: dict | None = None, session: str | None = None,
              timeout: float = 30) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def _read(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium exited")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    # -- use ---------------------------------------------------------------------------------
    def open(self, url: str, ready: str, timeout: float = 60) -> tuple[Any, PageErrors]:
        """Load ``url`` offline, wait until the JavaScript ``ready`` is truthy, and return the
        value of ``ready`` with the errors seen."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self._send(f"{domain}.enable", session=session)
        self._send("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1,
        }, session=session)
        self._send("Page.navigate", {"url": url}, session=session)
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            result = self._send("Runtime.evaluate", {"expression": ready, "returnByValue": True},
                                session=session)
            value = result.get("result", {}).get("value")
            if value:
                break
            time.sleep(0.25)
        else:
            raise TimeoutError(f"page not ready after {timeout}s: {ready}")
        return value, self._errors()

    def evaluate(self, expression: str) -> Any:
        session = next(e["sessionId"] for e in reversed(self.events) if "sessionId" in e)
        result = self._send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                            session=session)
        return result.get("result", {}).get("value")

    def _errors(self) -> PageErrors:
        errors = PageErrors()
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                     for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                errors.append("exception: " + str(details.get("exception", {}).get("description")
                                                  or details.get("text")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                errors.append(f"log: {entry.get('text')} {entry.get('url', '')}".strip())
            elif method == "Network.loadingFailed":
                errors.append(f"network: {params.get('errorText')}")
        return errors

    def close(self) -> None:
        try:
            self._send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        self._profile.cleanup()

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def file_url(path: Path) -> str:
    return Path(path).resolve().as_uri()
