"""`hpo report` and `hpo dashboard` end to end, through subprocesses."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

import optuna
import pytest

from tests.conftest import REPO, hpo_command, write_study_script
from tests.report.browser import find_chromium
from tests.report.studies import make_study

pytestmark = pytest.mark.slow  # every test here runs `hpo report` or `hpo dashboard` as a process

SECTION_IDS = ["summary", "history", "importances", "curves", "parallel", "slice", "contour-1",
               "contour-2", "contour-3", "edf", "timeline", "weights", "size", "trials-section"]


def run_hpo(*args, env=None, timeout=300):
    return subprocess.run(hpo_command(*args), capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, env={**os.environ, **(env or {})})


def test_report_of_the_built_in_study_has_every_section(built_in_study):
    result = run_hpo("report", "digits_mlp", env=built_in_study["env"])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    path = built_in_study["home"] / "reports" / "digits_mlp" / "report.html"
    assert re.fullmatch(rf"report: {re.escape(str(path))} \(\d+\.\d MB, 12 figures from 4 trials, "
                        rf"\d+\.\d s\)\n", result.stdout)
    page = path.read_text()
    for section in SECTION_IDS:
        assert f'<section id="{section}">' in page
    assert page.count('class="hpo-figure"') == 12
    assert "Could not be drawn" not in page and "Needs at least" not in page
    # hpo's own views: weight histograms of the best trial, stored when its model was kept.
    assert "Weight histograms of trial" in page
    assert r"sequential\u002fdense\u002fkernel" in page  # Plotly's JSON escapes "/"


@pytest.mark.parametrize("args, message", [
    (["report", "nosuch"], "hpo: error: no study named 'nosuch' in sqlite:///"),
    (["report", "empty"], "hpo: error: study 'empty' has no trials yet: nothing to report (run it first)"),
    (["report", "empty", "--importance", "shap"], "invalid choice: 'shap'"),
])
def test_report_errors_are_one_line(sqlite_url, args, message):
    optuna.create_study(study_name="empty", storage=sqlite_url)
    result = run_hpo(*args, "--storage", sqlite_url)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_report_of_a_missing_storage_file(tmp_path):
    result = run_hpo("report", "x", "--storage", f"sqlite:///{tmp_path / 'none.db'}")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("hpo: error: no study storage at")
    assert not (tmp_path / "none.db").exists()


def test_png_without_chromium_says_so_and_still_writes_html(sqlite_url, tmp_path):
    make_study(sqlite_url)
    # kaleido looks in PATH and in /usr/bin; its BROWSER_PATH override points nowhere here.
    result = run_hpo("report", "mixed", "--storage", sqlite_url, "--out", str(tmp_path / "r"),
                     "--png", env={"BROWSER_PATH": str(tmp_path / "no-chromium")})
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (
        "hpo: warning: no PNGs written: PNG export needs Chromium, which kaleido drives and did "
        "not find (Debian/Ubuntu: apt-get install chromium)")
    assert (tmp_path / "r" / "report.html").exists()
    assert not (tmp_path / "r" / "figures").exists()


def test_png_export_writes_one_image_per_figure(sqlite_url, tmp_path):
    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: scripts/test.sh installs it")
        pytest.skip("needs Chromium (scripts/install-chromium.sh)")
    make_study(sqlite_url)
    result = run_hpo("report", "mixed", "--storage", sqlite_url, "--out", str(tmp_path), "--format", "png")
    assert result.returncode == 0, result.stderr
    pngs = sorted((tmp_path / "figures").glob("*.png"))
    assert [p.stem for p in pngs] == sorted(["history", "importances", "curves", "parallel", "slice",
                                             "contour-1", "contour-2", "contour-3", "edf", "timeline",
                                             "size"])
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert f"PNGs: 11 in {tmp_path / 'figures'}" in result.stdout


def _wait_for_line(process, pattern, timeout=60):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if re.search(pattern, line):
            return line
    raise AssertionError(f"no line matching {pattern!r}; got {seen!r}")


def test_open_serves_the_report_on_localhost_and_opens_the_browser(sqlite_url, tmp_path):
    make_study(sqlite_url)
    opened = tmp_path / "opened-url"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    process = subprocess.Popen(
        hpo_command("report", "mixed", "--storage", sqlite_url, "--out", str(tmp_path / "r"), "--open"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "BROWSER": f"{browser} %s"},
    )
    try:
        line = _wait_for_line(process, r"report opened in the browser")
        url = re.search(r"http://127\.0\.0\.1:\d+/report\.html", line).group(0)
        assert opened.read_text().strip() == url
        served = urllib.request.urlopen(url, timeout=30).read()
        assert served == (tmp_path / "r" / "report.html").read_bytes()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "server stopped" in out


def test_open_without_a_browser_prints_the_url(sqlite_url, tmp_path):
    make_study(sqlite_url)
    process = subprocess.Popen(
        hpo_command("report", "mixed", "--storage", sqlite_url, "--out", str(tmp_path), "--open"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "BROWSER": "false"},
    )
    try:
        line = _wait_for_line(process, r"no browser to open here")
        url = re.search(r"http://127\.0\.0\.1:\d+/report\.html", line).group(0)
        assert urllib.request.urlopen(url, timeout=30).status == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_dashboard_serves_the_storage_on_localhost(sqlite_url):
    make_study(sqlite_url)
    port = _free_port()
    process = subprocess.Popen(hpo_command("dashboard", "--storage", sqlite_url, "--port", str(port)),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO)
    try:
        line = _wait_for_line(process, r"optuna-dashboard on")
        assert f"http://127.0.0.1:{port}/" in line
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=10))
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the dashboard did not answer"
                time.sleep(0.5)
        assert [s["study_name"] for s in answer["study_summaries"]] == ["mixed"]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


def test_dashboard_on_a_missing_storage_is_one_line(tmp_path):
    result = run_hpo("dashboard", "--storage", f"sqlite:///{tmp_path / 'none.db'}")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("hpo: error: no study storage at")


def test_reports_while_two_workers_write_the_same_sqlite_study(tmp_path):
    script = write_study_script(tmp_path, "busy", n_trials=6, max_epochs=4, patience=4)
    home = tmp_path / "hpo-runs"
    env = {**os.environ, "HPO_HOME": str(home), "HPO_STORAGE": ""}
    run = subprocess.Popen(hpo_command("run", str(script), "--workers", "2"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    reports = 0
    try:
        while run.poll() is None:
            result = subprocess.run(hpo_command("report", "busy"), capture_output=True, text=True,
                                    cwd=REPO, env=env, timeout=120)
            if result.returncode == 0:
                reports += 1
            else:  # only "no trials yet" (or no file) before the first trial starts
                assert "no trials yet" in result.stderr or "no study" in result.stderr, result.stderr
    finally:
        out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert reports >= 2
    study = optuna.load_study(study_name="busy", storage=f"sqlite:///{home / 'hpo.db'}")
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials) == 6
    assert not any(t.state.name == "FAIL" for t in study.trials)
