"""The ``hpo`` command line.

Only the standard library is imported at start; Optuna, SQLAlchemy and TensorFlow are imported
inside the commands that need them, so ``hpo --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Sequence

from hpo.errors import ERROR_PREFIX, EXIT_OK, HpoError, SetupError, exit_code_for

ArgumentContainer = argparse.ArgumentParser | argparse._ArgumentGroup


def _add_storage(parser: ArgumentContainer) -> None:
    parser.add_argument(
        "--storage", metavar="URL",
        help="SQLAlchemy URL (default: $HPO_STORAGE, else the study script's, "
             "else sqlite:///hpo-runs/hpo.db)",
    )


def _add_overrides(parser: argparse.ArgumentParser, *, with_name: bool) -> None:
    """One flag per setting :func:`hpo.study._spec.cli_settings` lists; none given means "as stored"."""
    from hpo.study import cli_settings

    group = parser.add_argument_group("overrides of the study's settings")
    if with_name:
        group.add_argument("--study-name", metavar="NAME", help="store the study under this name")
    _add_storage(group)
    for name, setting in cli_settings():
        flag = "--" + name.replace("_", "-")
        if setting.type is bool:  # tri-state: --flag, --no-flag, or the stored value
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None,
                               help=setting.help)
        else:
            group.add_argument(flag, dest=name, type=setting.type, metavar=setting.metavar,
                               help=setting.help)


def _add_tracking(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tensorboard", metavar="DIR",
                        help="write each trial as a TensorBoard run under DIR/NAME ($HPO_TENSORBOARD)")
    parser.add_argument("--mlflow", metavar="URI",
                        help="log the study and each trial to this MLflow tracking server ($HPO_MLFLOW)")


def _add_gpus(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gpus", metavar="auto|none|0,1", default="auto",
                        help="GPUs to train on: auto (every NVIDIA GPU found; one worker each unless "
                             "--workers says otherwise), none (CPU), or their indices")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpo",
        description="Run, resume and inspect Optuna hyperparameter studies of Keras models.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="create or resume the study a script describes")
    run.add_argument("script", help="a study script, e.g. studies/digits_mlp.py")
    _add_overrides(run, with_name=True)
    _add_tracking(run)
    _add_gpus(run)

    resume = commands.add_parser("resume", help="continue a stored study with its stored settings")
    resume.add_argument("name", help="study name (see `hpo ls`)")
    _add_overrides(resume, with_name=False)
    _add_tracking(resume)
    _add_gpus(resume)

    ls = commands.add_parser("ls", help="list studies with trial counts and best values")
    _add_storage(ls)
    ls.add_argument("--json", action="store_true", help="machine-readable output")

    show = commands.add_parser("show", help="best trial, parameters and counts of one study")
    show.add_argument("name", help="study name (see `hpo ls`)")
    _add_storage(show)
    show.add_argument("--json", action="store_true", help="machine-readable output")

    simulate = commands.add_parser(
        "simulate", help="replay a study's complete trials under other pruners: epochs saved, best trial pruned")
    simulate.add_argument("name", help="study name (see `hpo ls`)")
    _add_storage(simulate)
    simulate.add_argument("--pruners", default=None,
                          help="comma-separated pruner names (default: median,percentile,patient,"
                               "successive-halving,hyperband,wilcoxon)")
    simulate.add_argument("--orders", type=int, default=50, help="random trial orders replayed (default 50)")
    simulate.add_argument("--json", action="store_true", help="machine-readable output")

    best = commands.add_parser(
        "best", help="retrain the best configuration, score it once on the test set, save it"
    )
    best.add_argument("name", help="study name (see `hpo ls`)")
    _add_storage(best)
    best.add_argument("--out", metavar="PATH", type=Path,
                      help="where to save the .keras model (default hpo-runs/models/NAME/best.keras)")
    best.add_argument("--backend", metavar="NAME", help="Keras backend to retrain on (default: the study's)")
    from hpo.report import IMPORTANCE_EVALUATORS

    report = commands.add_parser(
        "report", help="write one self-contained HTML report of a study (plots, trial table)")
    report.add_argument("name", help="study name (see `hpo ls`)")
    _add_storage(report)
    report.add_argument("--out", metavar="DIR", type=Path,
                        help="directory for report.html (default hpo-runs/reports/NAME)")
    report.add_argument("--importance", choices=IMPORTANCE_EVALUATORS, default="ped-anova",
                        help="parameter-importance method (default ped-anova; fanova is slow "
                             "on thousands of trials)")
    report.add_argument("--format", choices=("html", "png"), default="html",
                        help="png: also write each figure as a PNG (needs Chromium)")
    report.add_argument("--png", dest="format", action="store_const", const="png",
                        help="same as --format png")
    report.add_argument("--open", action="store_true",
                        help="serve the report on 127.0.0.1 and open it in the browser")
    report.add_argument("--port", type=int, default=0, help="port for --open (default: a free one)")

    dashboard = commands.add_parser(
        "dashboard", help="live optuna-dashboard on the study storage, bound to 127.0.0.1")
    _add_storage(dashboard)
    dashboard.add_argument("--port", type=int, default=8080, help="port (default 8080)")

    worker = commands.add_parser(
        "worker", help="join a stored study from any machine: run its trials until the budget is met")
    worker.add_argument("name", help="study name (created by `hpo run` with a shared --storage)")
    _add_storage(worker)
    worker.add_argument("--workers", type=int, metavar="N",
                        help="worker processes on this machine (default: the study's setting)")
    for flag, setting in (("--heartbeat-interval", "heartbeat_interval"), ("--grace-period", "grace_period")):
        worker.add_argument(flag, dest=setting, type=int, metavar="SECONDS",
                            help=_cli_help(setting) + " (default: the study's setting)")
    worker.add_argument("--artifacts", metavar="URI", help=_cli_help("artifacts") + " (default: the study's)")
    worker.add_argument("--backend", metavar="NAME", help=_cli_help("backend") + " (default: the study's)")
    _add_tracking(worker)
    _add_gpus(worker)
    # Internal: one worker process of `hpo run --workers N` or `hpo worker --workers N`.
    worker.add_argument("--number", type=int, help=argparse.SUPPRESS)
    worker.add_argument("--max-trials", type=int, default=0, help=argparse.SUPPRESS)
    return parser


def _cli_help(name: str) -> str:
    from hpo.study import cli_settings

    return dict(cli_settings())[name].help


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except HpoError as error:
        _error(str(error))
        return exit_code_for(error)
    except KeyboardInterrupt as error:
        name = getattr(args, "study_name", None) or getattr(args, "name", None) or getattr(args, "_spec_name", None)
        hint = f"; resume with: hpo resume {name}" if name else ""
        _error(f"interrupted; finished trials are stored{hint}")
        return exit_code_for(error)


def _error(message: str) -> None:
    print(f"{ERROR_PREFIX}{message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line; None for each one not given."""
    from hpo.study import cli_settings

    overrides = {name: getattr(args, name) for name, _ in cli_settings()}
    overrides["name"] = getattr(args, "study_name", None)
    _flags_to_environment(args)
    return overrides


def _flags_to_environment(args: argparse.Namespace) -> None:
    """``--artifacts``, ``--tensorboard`` and ``--mlflow`` win over their variables
    (``HPO_ARTIFACTS``, ...) here and in the workers this process starts."""
    import os

    from hpo._environment import ARTIFACTS_ENV, MLFLOW_ENV, TENSORBOARD_ENV

    for flag, variable in (("artifacts", ARTIFACTS_ENV), ("tensorboard", TENSORBOARD_ENV), ("mlflow", MLFLOW_ENV)):
        if getattr(args, flag, None):
            os.environ[variable] = getattr(args, flag)


def cmd_run(args: argparse.Namespace) -> int:
    import hpo.driver as driver
    from hpo.driver import parse_gpus
    from hpo.study import load_study_script

    spec = load_study_script(args.script).with_overrides(**_overrides(args))
    args._spec_name = spec.name
    gpus = parse_gpus(args.gpus)
    if gpus and args.workers is None:  # one worker per GPU by default
        spec = spec.with_overrides(workers=max(spec.workers, len(gpus)))
    outcome = driver.run(spec, storage_url=args.storage, gpus=gpus)
    _print_outcome(outcome)
    return EXIT_OK


def cmd_resume(args: argparse.Namespace) -> int:
    import hpo.driver as driver
    from hpo.driver import parse_gpus

    overrides = _overrides(args)
    gpus = parse_gpus(args.gpus)
    if gpus and args.workers is None:
        overrides["workers"] = len(gpus)
    outcome = driver.resume(args.name, storage_url=args.storage, overrides=overrides, gpus=gpus)
    _print_outcome(outcome)
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    import os

    import hpo.driver as driver
    from hpo._environment import WORKER_LABELS_ENV
    from hpo.driver import parse_gpus, stop_with_parent
    from hpo.storage import resolve_url

    overrides = {"heartbeat_interval": args.heartbeat_interval, "grace_period": args.grace_period,
                 "backend": args.backend}
    _flags_to_environment(args)
    if args.number is None:  # `hpo worker NAME` typed by a user, on any machine
        gpus = parse_gpus(args.gpus)
        workers = args.workers or (len(gpus) if gpus else None)
        outcome = driver.join(args.name, storage_url=resolve_url(args.storage),
                              overrides={**overrides, "workers": workers}, gpus=gpus)
        _print_outcome(outcome)
        return EXIT_OK
    stop_with_parent()
    prefix = f"w{args.number} " if os.environ.get(WORKER_LABELS_ENV) == "1" else ""

    def out(line: str) -> None:
        print(f"{prefix}{line}", flush=True)

    driver.work(args.name, storage_url=resolve_url(args.storage), max_trials=args.max_trials or None,
                worker_number=args.number, out=out, overrides=overrides)
    return EXIT_OK


def _print_outcome(outcome: Any) -> None:
    if outcome.configurations is None:
        print(f"finished trials: {outcome.n_finished}/{outcome.budget} ({outcome.trials_run} run now)")
    else:  # n_trials counts configurations (PBT: members; with re-checks, the search's trials)
        print(f"finished trials: {outcome.n_finished} ({outcome.configurations}/{outcome.budget} "
              f"{outcome.counted}, {outcome.trials_run} run now)")
    if outcome.epochs is not None:
        print(f"epochs trained: {outcome.epochs[0]}/{outcome.epochs[1]}")
    if outcome.checkpoint_peak is not None:
        print(f"checkpoints of paused trials: peak {outcome.checkpoint_peak / 2**20:.1f} MiB on one host, "
              "removed at the end")
    if outcome.pareto_size is not None:
        print(f"Pareto front: {outcome.pareto_size} trials (hpo show {outcome.study_name} lists them)")
    if outcome.best_value is None:
        print("best: no complete trial yet")
    else:
        print(f"best {outcome.metric}: {outcome.best_value:.4f} (trial {outcome.best_number})")
        print(f"best params: {_format_params(outcome.best_params)}")
    print(f"stored in {outcome.storage} as study {outcome.study_name!r}")


def _format_params(params: dict[str, Any] | None) -> str:
    def fmt(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    return ", ".join(f"{key}={fmt(value)}" for key, value in (params or {}).items())


def _open_readonly(args: argparse.Namespace) -> Any:
    from hpo.storage import open_storage, resolve_url

    return open_storage(resolve_url(args.storage), create=False)


def cmd_ls(args: argparse.Namespace) -> int:
    from hpo.report import list_studies

    rows = list_studies(_open_readonly(args))
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        print("no studies")
        return EXIT_OK
    width = max(len("STUDY"), *(len(row["name"]) for row in rows))
    print(f"{'STUDY':<{width}}  {'DIRECTION':<9}  COMPLETE  PRUNED  FAIL  RUNNING  WAITING  BEST")
    for row in rows:
        s = row["states"]
        best = "-" if row["best_value"] is None else f"{row['best_value']:.4f} (#{row['best_trial']})"
        print(f"{row['name']:<{width}}  {row['direction']:<9}  {s['COMPLETE']:>8}  {s['PRUNED']:>6}  "
              f"{s['FAIL']:>4}  {s['RUNNING']:>7}  {s['WAITING']:>7}  {best}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    import hpo.records as records
    from hpo.records import SHOWN_WITH_BEST
    from hpo.report import load_summary
    from hpo.storage import StudyFiles, resolve_url

    summary = load_summary(_open_readonly(args), args.name)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, default=str))
        return EXIT_OK
    print(f"study {summary.name} ({summary.direction}): {summary.n_trials} trials - "
          + ", ".join(f"{count} {state.lower()}" for state, count in summary.states.items() if count))
    settings = summary.settings
    if settings:
        scheduler = settings.get("scheduler", "none")
        # With a scheduler, the budget counts configurations (PBT: members), not trials.
        searched = (f"pruner {settings['pruner']}, budget {settings['n_trials']}" if scheduler == "none" else
                    f"scheduler {scheduler} {settings.get('scheduler_options') or {}}, budget {settings['n_trials']} "
                    f"{'members' if scheduler == 'pbt' else 'configurations'}")
        if settings.get("epoch_budget") is not None:
            searched += f", epoch budget {settings['epoch_budget']}"
        searched += "".join(f", {label} {settings[key]}" for key, label, plain in (
            ("cv", "cv", 1), ("repeats", "repeats", 1), ("confirm_top", "re-check top", 0))
            if settings.get(key, plain) != plain)
        print(f"objective {settings['objective']} on {settings['dataset']}, metric {settings['metric']}, "
              f"sampler {settings['sampler']}, {searched}, "
              f"max epochs {settings['max_epochs']}, patience {settings['patience']}, seed {settings['seed']}")
    best = summary.best
    if best is None:
        print("best: no complete trial yet")
    else:
        picked = " (picked from the Pareto front)" if len(best.values) > 1 else ""
        evaluations = records.fold_values(best.user_attrs)
        se = records.value_se(best.user_attrs)
        spread = f" ± {se:.4f} (mean of {len(evaluations)} evaluations ± its standard error)" if se is not None else ""
        rechecked = records.confirms(best.user_attrs)
        if rechecked is not None:
            spread += f", re-check of trial {rechecked}"
        print(f"best trial {best.number}{picked}: value {best.values[0]:.4f}{spread}")
        print(f"  params: {_format_params(best.params)}")
        attrs = {k: best.user_attrs[k] for k in SHOWN_WITH_BEST if k in best.user_attrs}
        if attrs:
            print("  " + ", ".join(f"{k}={_format_attr(v)}" for k, v in attrs.items()))
        model = StudyFiles(resolve_url(args.storage), summary.name).model_path(best.number)
        if model.exists():
            print(f"  best-epoch model: {model}")
    if summary.pareto_front is not None:
        names = f"{settings['metric']}, {settings['also_minimize']}" if settings else "objective values"
        print(f"Pareto front ({len(summary.pareto_front)} trials; {names}):")
        for trial in summary.pareto_front:
            values = ", ".join(f"{v:.6g}" for v in trial.values)
            print(f"  trial {trial.number}: {values}")
    print(f"total trial time: {summary.trial_seconds:.1f}s")
    for number, reason in summary.failures:
        print(f"  trial {number} failed: {reason}")
    return EXIT_OK


def _format_attr(value: Any) -> str:
    """A trial attribute as ``hpo show`` prints it: lists of values (folds) to 4 digits."""
    if isinstance(value, list) and any(isinstance(v, float) for v in value):
        return "[" + ", ".join(f"{v:.4g}" for v in value) + "]"
    return str(value)


def cmd_simulate(args: argparse.Namespace) -> int:
    from hpo.simulation import DEFAULT_PRUNERS, replay_study

    if args.orders < 1:
        raise SetupError(f"--orders must be at least 1, got {args.orders}")
    names = [n.strip() for n in args.pruners.split(",") if n.strip()] if args.pruners else list(DEFAULT_PRUNERS)
    results = replay_study(_open_readonly(args), args.name, names, orders=args.orders)
    if args.json:
        print(json.dumps({"study": args.name, "pruners": [r.to_dict() for r in results]}, indent=2))
        return EXIT_OK
    print(f"study {args.name}: its complete trials replayed in {args.orders} random orders")
    width = max(len("PRUNER"), *(len(r.pruner) for r in results))
    print(f"{'PRUNER':<{width}}  EPOCHS SAVED  BEST TRIAL PRUNED")
    for r in results:
        print(f"{r.pruner:<{width}}  {r.epochs_saved:>11.0%}  {r.best_pruned:>16.0%} of orders")
    return EXIT_OK


def cmd_best(args: argparse.Namespace) -> int:
    from hpo.driver import train_best

    result = train_best(args.name, storage_url=args.storage, model_path=args.out, backend=args.backend)
    accuracy = result.test_metrics.get("test_accuracy")
    print(f"best trial {result.trial_number}: {_format_params(result.params)}")
    if len(result.schedule) > 1:
        print("trained with the winning member's schedule:")
        for first_epoch, params in result.schedule:
            print(f"  from epoch {first_epoch}: {_format_params(params)}")
    if result.pooled_epochs is not None:
        print(f"validation (search, mean over its evaluations): {result.validation_value:.4f}; retrained on "
              f"training + validation data for {result.pooled_epochs} epochs (the folds' mean best epoch)")
    else:
        print(f"validation (search): {result.validation_value:.4f}, validation (retrained): "
              f"{result.retrained_validation_value:.4f}")
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in result.test_metrics.items() if math.isfinite(v))
    print(f"test set (used once): {metrics}" if result.test_metrics else
          "no test set: the data has none, so nothing was scored on one")
    if accuracy is not None:
        print(f"test accuracy: {accuracy:.4f}")
    print(f"model saved to {result.model_path}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from hpo.report import write_report
    from hpo.storage import resolve_url

    result = write_report(args.name, resolve_url(args.storage), args.out,
                          importance=args.importance, png=args.format == "png")
    print(f"report: {result.path} ({result.bytes / 1e6:.1f} MB, {result.n_figures} figures "
          f"from {result.n_trials} trials, {result.seconds:.1f} s)")
    if args.format == "png":
        if result.png_problem:
            print(f"hpo: warning: no PNGs written: {result.png_problem}", file=sys.stderr)
        elif result.png_paths:
            print(f"PNGs: {len(result.png_paths)} in {result.png_paths[0].parent}")
    if args.open:
        from hpo.report import serve_report

        serve_report(result.path, port=args.port)
    return EXIT_OK


def cmd_dashboard(args: argparse.Namespace) -> int:
    from hpo.report import run_dashboard
    from hpo.storage import resolve_url

    run_dashboard(resolve_url(args.storage), port=args.port)
    return EXIT_OK


_COMMANDS = {
    "run": cmd_run,
    "resume": cmd_resume,
    "ls": cmd_ls,
    "show": cmd_show,
    "simulate": cmd_simulate,
    "best": cmd_best,
    "report": cmd_report,
    "dashboard": cmd_dashboard,
    "worker": cmd_worker,
}


if __name__ == "__main__":  # python -m hpo.cli
    sys.exit(main())
