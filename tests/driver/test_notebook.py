"""The notebook's live progress bar: one display, updated in place."""

import sys
import types

from hpo._environment import PROGRESS_ENV
from hpo.driver import _notebook as notebook


class _Handle:
    def __init__(self, shown):
        self.shown = shown

    def update(self, bundle, raw):
        self.shown.append(("update", bundle))


def _fake_ipython(monkeypatch, shell_name="ZMQInteractiveShell"):
    shown = []
    display = types.ModuleType("IPython.display")

    def show(bundle, raw, display_id):
        assert raw and display_id is True
        shown.append(("display", bundle))
        return _Handle(shown)

    display.display = show
    ipython = types.ModuleType("IPython")
    shell = type(shell_name, (), {})()
    ipython.get_ipython = lambda: shell
    ipython.display = display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    return shown


def test_only_a_jupyter_kernel_counts_as_a_notebook(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not notebook.in_notebook()
    _fake_ipython(monkeypatch, "TerminalInteractiveShell")  # plain IPython in a terminal prints lines
    assert not notebook.in_notebook()
    _fake_ipython(monkeypatch)
    assert notebook.in_notebook()


def test_the_bar_is_displayed_once_then_updated_in_place(monkeypatch):
    shown = _fake_ipython(monkeypatch)
    bar = notebook.ProgressBar("study <1>")
    bar.update(done=3, budget=10, unit="done", best="best=0.9 (#2)", last="[trial 2] COMPLETE", elapsed="0:03",
               eta="0:07")
    bar.update(done=4, budget=10, unit="done", best="best=0.95 (#3)", last="[trial 3] COMPLETE", elapsed="0:04",
               eta="0:06")
    assert [kind for kind, _ in shown] == ["display", "update"]
    bundle = shown[-1][1]
    assert bundle["text/plain"] == ("study <1>: 4/10 done  best=0.95 (#3)  elapsed 0:04  ETA 0:06  |  "
                                    "[trial 3] COMPLETE")
    assert '<progress value="4" max="10"' in bundle["text/html"] and "(40%)" in bundle["text/html"]
    assert "study &lt;1&gt;" in bundle["text/html"] and "best=0.95 (#3)" in bundle["text/html"]


def test_workers_of_a_notebook_run_leave_the_progress_to_its_bar(monkeypatch):
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    assert not notebook.lines_hidden()
    monkeypatch.setenv(PROGRESS_ENV, notebook.BAR)
    assert notebook.lines_hidden()
