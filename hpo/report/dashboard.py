"""``hpo dashboard``: optuna-dashboard on a study storage, for watching running studies."""

from __future__ import annotations

from collections.abc import Callable

from hpo.errors import SetupError

DEFAULT_PORT = 8080


def run_dashboard(storage_url: str, *, port: int = DEFAULT_PORT,
                  out: Callable[[str], None] = print) -> None:
    """Serve optuna-dashboard on 127.0.0.1 until Ctrl-C.

    Bound to the loopback interface: the dashboard can change studies (notes, trial states)
    and has no login, so it is not offered to the network; use an SSH tunnel to reach it.
    """
    try:
        import optuna_dashboard
    except ImportError:
        raise SetupError("hpo dashboard needs optuna-dashboard (pip install optuna-dashboard)") from None
    from hpo.storage.database import mask_url, open_storage

    storage = open_storage(storage_url, create=False)
    out(f"optuna-dashboard on {mask_url(storage_url)}: http://127.0.0.1:{port}/ (Ctrl-C stops it)")
    try:
        optuna_dashboard.run_server(storage, host="127.0.0.1", port=port)
    except OSError as error:
        raise SetupError(f"cannot serve the dashboard on 127.0.0.1:{port}: {error.strerror or error}") from None
    except KeyboardInterrupt:
        out("dashboard stopped")
