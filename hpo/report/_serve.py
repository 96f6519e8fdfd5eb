"""``hpo report NAME --open``: serve the report on 127.0.0.1 and open it in a browser.

A local server rather than a ``file://`` URL because some browsers (snap-packaged ones)
cannot read files outside the home directory; bound to the loopback interface only.
"""

from __future__ import annotations

import functools
import http.server
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        pass  # one line per request would bury the URL


def serve_report(path: Path, *, port: int = 0, open_browser: bool = True,
                 out: Callable[[str], None] = print, stop: threading.Event | None = None) -> None:
    """Serve ``path``'s directory until Ctrl-C (or ``stop`` is set), opening ``path``."""
    handler = functools.partial(_QuietHandler, directory=str(path.parent))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
        opened = open_browser and _open(url)
        if opened:
            out(f"report opened in the browser: {url} (Ctrl-C stops the server)")
        else:
            out(f"no browser to open here; the report is served at {url} (Ctrl-C stops the server)")
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            (stop or threading.Event()).wait()
        except KeyboardInterrupt:
            out("server stopped")
        finally:
            server.shutdown()


def _open(url: str) -> bool:
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False
