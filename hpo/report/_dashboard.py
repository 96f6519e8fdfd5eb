"""``hpo dashboard``: optuna-dashboard on a study storage, for watching running studies."""

from __future__ import annotations

import threading
from collections.abc import Callable
from wsgiref.simple_server import WSGIRequestHandler, make_server

from hpo.errors import SetupError

DEFAULT_PORT = 8080


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """No line per request: the terminal shows hpo's own line and errors only."""


def run_dashboard(storage_url: str, *, port: int = DEFAULT_PORT,
                  out: Callable[[str], None] = print) -> None:
    """Serve optuna-dashboard on 127.0.0.1 until Ctrl-C.

    Bound to the loopback interface: the dashboard can change studies (notes, trial states)
    and has no login, so it is not offered to the network; use an SSH tunnel to reach it.

    Its WSGI app served from a thread, not ``optuna_dashboard.run_server``: that serves in the
    main thread, where a Ctrl-C landing while a request is answered is lost (wsgiref's handler
    closes the half-sent response, fails on its missing status, and that AttributeError
    replaces the KeyboardInterrupt, so the server goes on; seen in the suite as a dashboard
    still running 30 s after SIGINT). The main thread here only waits, so the signal always
    reaches it.
    """
    try:
        import optuna_dashboard
    except ImportError:
        raise SetupError("hpo dashboard needs optuna-dashboard (pip install optuna-dashboard)") from None
    from hpo.storage import mask_url, open_storage

    storage = open_storage(storage_url, create=False)
    out(f"optuna-dashboard on {mask_url(storage_url)}: http://127.0.0.1:{port}/ (Ctrl-C stops it)")
    try:
        server = make_server("127.0.0.1", port, optuna_dashboard.wsgi(storage), handler_class=_QuietHandler)
    except OSError as error:
        raise SetupError(f"cannot serve the dashboard on 127.0.0.1:{port}: {error.strerror or error}") from None
    serving = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    serving.start()
    try:
        while serving.is_alive():
            serving.join(0.5)
    except KeyboardInterrupt:
        out("dashboard stopped")
    finally:
        server.shutdown()
        server.server_close()
