"""Serving a report on 127.0.0.1 (in a thread; `hpo report --open`: test_report_cli.py)."""

import re
import threading
import time
import urllib.request

from hpo.report import _serve as serve


def test_the_reports_folder_is_served_until_stopped(tmp_path, monkeypatch):
    (tmp_path / "report.html").write_text("<html>hello</html>")
    monkeypatch.setattr(serve, "_open", lambda url: False)  # no browser here
    lines, stop = [], threading.Event()
    thread = threading.Thread(target=serve.serve_report, args=(tmp_path / "report.html",),
                              kwargs={"out": lines.append, "stop": stop})
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not lines and time.monotonic() < deadline:
            time.sleep(0.05)
        url = re.search(r"http://127\.0\.0\.1:\d+/report\.html", lines[0]).group(0)
        assert "no browser to open here" in lines[0]
        assert urllib.request.urlopen(url, timeout=10).read() == b"<html>hello</html>"
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
