"""The ``nnrun`` command: a thin shell over the functions of the package.

Each subcommand parses its arguments, calls one public function, and turns an
:class:`~nnrun.errors.NnrunError` into one line on stderr with exit code 2.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from nnrun.errors import NnrunError, RunFailed, disk_fault, is_disk_fault
from nnrun.store.names import METRICS_JSON

# Each command imports what it needs when it runs, config first: `nnrun --help` and a
# config error answer without loading NumPy's neighbours (pandas, numba, matplotlib).


def draw_jobs() -> int:
    """Processes that draw a run's pictures: two where there are two cores (a forked copy
    draws half of them; see nnrun.plots.draw_run)."""
    import os

    return 2 if (os.cpu_count() or 1) > 1 else 1


def user_errors(fn):
    """Bad input -> 'nnrun: error: ...' on stderr, exit 2, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NnrunError as e:
            click.echo(f"nnrun: error: {e}", err=True)
            sys.exit(e.exit_code)
        except RunFailed as e:
            click.echo(f"nnrun: error: {e}", err=True)
            click.echo(str(e.run_dir))
            sys.exit(1)
        except KeyboardInterrupt:  # outside training (loading, plotting): nothing to save
            click.echo("nnrun: interrupted", err=True)
            sys.exit(130)
        except OSError as e:  # a full disk where no command foresaw it: still one line, exit 1
            if not is_disk_fault(e):
                raise
            click.echo(f"nnrun: error: {disk_fault(e, 'free some space and run the command again')}", err=True)
            sys.exit(1)

    return wrapper


class CommandGroup(click.Group):
    """The nnrun group; it keeps the command line in the context, for the pages."""

    def main(self, args=None, *rest, **kwargs):
        import shlex

        argv = ["nnrun", *(sys.argv[1:] if args is None else args)]
        kwargs.setdefault("obj", {})["command"] = shlex.join(str(a) for a in argv)
        return super().main(args, *rest, **kwargs)


def command_line() -> str | None:
    """The command line this command was started with (None when called without the group)."""
    context = click.get_current_context(silent=True)
    obj = context.find_root().obj if context is not None else None
    return obj.get("command") if isinstance(obj, dict) else None


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nnrun", prog_name="nnrun")  # looked up only for --version
def main():
    """Run neural-network experiments built from scratch, from YAML configs."""


config_argument = click.argument("config", type=click.Path(path_type=Path))  # a file, or a run folder
overrides_argument = click.argument("overrides", nargs=-1, metavar="[KEY=VALUE]...")


def run_options(fn):
    fn = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")(fn)
    fn = click.option("--name", default=None, help="Run name (default: the config's name).")(fn)
    fn = click.option("--runs-dir", default="runs", show_default=True,
                      type=click.Path(file_okay=False, path_type=Path),
                      help="Where run folders are created.")(fn)
    return fn


@main.command()
@config_argument
@overrides_argument
@run_options
@user_errors
def train(config, overrides, runs_dir, name, quiet):
    """Train the network CONFIG describes and write a run folder (CONFIG: a YAML file, or
    a run folder, whose saved config.yaml is then trained again).

    KEY=VALUE overrides any config key by its dotted path, the value read as YAML:
    train.eta=0.01 model.architecture=2-5-5-5-2 data.transform=[standardize].
    The last line printed is the run folder.
    """
    from nnrun.config import load_config

    cfg = load_config(config, overrides)
    if cfg.sweep is not None:  # trained once, at the base values: say so rather than ignore the grid silently
        click.echo(f"nnrun: note: the sweep section of {config} is ignored by nnrun train; "
                   f"run it with nnrun sweep {config}", err=True)
    from nnrun.app import run_experiment

    run_dir = run_experiment(cfg, runs_dir=runs_dir, name=name, quiet=quiet, draw_jobs=draw_jobs(),
                             command=command_line())
    click.echo(str(run_dir))
    exit_for_status(run_dir)


@main.command()
@config_argument
@overrides_argument
@click.option("--points", default=3, show_default=True, type=click.IntRange(min=1),
              help="Parameter vectors to check at.")
@user_errors
def gradcheck(config, overrides, points):
    """Check CONFIG's backpropagated gradients against finite differences (CONFIG: a YAML
    file, or a run folder).

    Prints max relative and absolute error per parameter array; exit 0 when every
    array is below 1e-7, 1 otherwise.
    """
    from nnrun.config import load_config

    cfg = load_config(config, overrides)
    from nnrun.tools.gradcheck import TOLERANCE, gradcheck as run_check, table

    results = run_check(cfg, points=points)
    click.echo(table(results))
    if any(p > 0 for p in cfg.model.dropout_rates):
        click.echo(f"dropout p = {cfg.model.dropout}: the masks of one training step, drawn from the run's "
                   "dropout stream, are held fixed on both sides")
    bad = [r.name for r in results if not r.ok]
    if bad:
        click.echo(f"FAILED: {', '.join(bad)} above {TOLERANCE:g}", err=True)
        sys.exit(1)
    click.echo(f"all {len(results)} gradient arrays agree with finite differences (< {TOLERANCE:g})")


@main.command()
@config_argument
@overrides_argument
@click.option("--steps", default=1, show_default=True, type=int, help="How many updates to show.")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="text for the terminal, markdown ($...$ maths) for a write-up, json for programs.")
@click.option("--full", is_flag=True, help="Every number, however large the network or the batch.")
@click.option("--check", "check_file", type=click.Path(path_type=Path), default=None, metavar="FILE",
              help="Compare your own numbers (YAML or JSON, the layout of --format json, any subset).")
@click.option("--rtol", default=1e-4, show_default=True, type=click.FloatRange(min=0),
              help="--check: the relative tolerance.")
@click.option("--atol", default=1e-6, show_default=True, type=click.FloatRange(min=0),
              help="--check: the absolute floor, for entries at or near zero.")
@click.option("--input", "input_values", default=None, metavar="X1,X2,...",
              help="With a RUN folder: one input through the trained network, and its decision.")
@user_errors
def explain(config, overrides, steps, fmt, full, check_file, rtol, atol, input_values):
    """Every number of the first updates of the run CONFIG describes: the samples, the
    forward pass, the loss, the backward pass, the gradients and the optimizer's update,
    as `nnrun train` computes them (CONFIG: a YAML file, or a run folder).

    \b
    nnrun explain configs/higham_2232.yaml --steps 2
    nnrun explain configs/mazur_step.yaml --format markdown > step.md
    nnrun explain configs/higham_2232.yaml --check my_numbers.yaml
    nnrun explain runs/20261205-101500-higham_2232 --input 0.3,0.7
    """
    from nnrun.explain import render as rendering

    if input_values is not None:
        from nnrun.explain.forward import explain_input
        from nnrun.store.names import no_run_folder

        if not config.is_dir():
            raise no_run_folder(config, "--input needs a RUN folder: ")
        if overrides:  # `--input 5.1 3.5 1.4`: the shell split the row into words
            raise NnrunError(f"--input: {input_values} {' '.join(overrides)}: give the values as one word, "
                             f"comma-separated: --input {','.join([input_values, *overrides])}")
        explained = explain_input(config, input_values)
        if fmt == "json":
            from nnrun.explain import to_json

            click.echo(to_json(explained), nl=False)
        else:
            click.echo(rendering.render_input(explained, markdown=fmt == "markdown", full=full), nl=False)
        return
    from nnrun.config import load_config
    from nnrun.explain import explain_config, to_json

    cfg = load_config(config, overrides)
    if check_file is not None:
        from nnrun.explain.check import compare, read_answers, report, steps_needed

        answers = read_answers(check_file)
        expected = explain_config(cfg, max(steps, steps_needed(answers)))
        checked, wrong = compare(answers, expected, check_file, rtol, atol)
        for line in report(checked, wrong, rtol, atol):
            click.echo(line)
        sys.exit(1 if wrong else 0)
    explained = explain_config(cfg, steps)
    if fmt == "json":
        click.echo(to_json(explained), nl=False)
    else:
        click.echo(rendering.render(explained, markdown=fmt == "markdown", full=full), nl=False)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))  # a file: one line naming its folder
@click.option("--format", "fmt", type=click.Choice(["png", "pdf", "svg"]), default="png", show_default=True)
@user_errors
def plot(run_dir, fmt):
    """Redraw the plots of a run or sweep folder, without training."""
    from nnrun.replot import redraw

    for path in redraw(run_dir, fmt, jobs=draw_jobs()):
        click.echo(str(path))


@main.command()
@config_argument
@overrides_argument
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Local worker processes (default: all cores).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Send cells to a Dask distributed scheduler, e.g. tcp://host:8786.")
@click.option("--resume", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Finish the missing cells of an interrupted sweep folder (a search: its missing trials).")
@click.option("--storage", default=None, metavar="URL",
              help="A search's Optuna study: a journal file on a shared disk or a database URL; every "
                   "nnrun sweep given the same URL and config works on the same study and sweep folder.")
@run_options
@user_errors
def sweep(config, overrides, jobs, scheduler, resume, storage, runs_dir, name, quiet):
    """Run a grid of experiments in parallel; results and heatmaps.

    Axes come from the config's sweep.grid and from overrides with a comma list,
    e.g. train.eta=0.1,0.01 or "train.lambda=logspace(-5,1,7)" (quoted for the shell). The last line printed
    is the sweep folder.
    """
    if scheduler is None:
        from nnrun.sweeps.forkserver import start_fork_server

        start_fork_server()  # first: the workers get ready while the rest is imported and checked
    from nnrun.sweeps.runner import run_sweep

    try:
        sweep_dir = run_sweep(config, overrides, runs_dir=runs_dir, jobs=jobs, scheduler=scheduler,
                              resume=resume, name=name, quiet=quiet, command=command_line(), storage=storage)
    except KeyboardInterrupt:
        sys.exit(130)
    click.echo(str(sweep_dir))


@main.command()
@config_argument
@overrides_argument
@click.option("--with", "framework", type=click.Choice(["torch"]), required=True,
              help="The framework to run the twin in.")
@run_options
@user_errors
def compare(config, overrides, framework, runs_dir, name, quiet):
    """Run CONFIG (a YAML file, or a run folder) in nnrun and as a PyTorch twin, and compare them.

    Same initial weights, samples, loss and penalty, float64. Writes a run folder
    with both histories, compare.png and compare.json; exit 1 when recorded losses or
    final weights differ by more than 1e-8 relative.
    """
    from nnrun.config import load_config

    cfg = load_config(config, overrides)
    from nnrun.tools.compare import compare as run_compare

    run_dir, report = run_compare(cfg, runs_dir, name=name, quiet=quiet, command=command_line())
    click.echo(str(run_dir))
    exit_for_status(run_dir)
    if not report["agree"]:
        sys.exit(1)


@main.command()
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path))
@click.argument("csv_file", metavar="CSV", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the predictions to this CSV file (default: stdout).")
@user_errors
def predict(run_dir, csv_file, out):
    """Apply a trained RUN to the rows of CSV, with the transforms fitted in training.

    Writes one row per input row: the label (if the CSV has the label column), the
    predicted class by name (or value, for regression) and the class probabilities.
    The accuracy against the label column goes to stderr.
    """
    from nnrun.tools.predict import predict as run_predict, summary_line
    from nnrun.store.files import atomic_write

    table, summary = run_predict(run_dir, csv_file)
    text = table.to_csv(index=False, float_format="%.6g")
    if out is None:
        click.echo(text, nl=False)
    else:
        try:
            atomic_write(out, text)
        except OSError as e:
            raise NnrunError(f"--out: cannot write {out} ({e.strerror})") from None
        click.echo(str(out))
    click.echo(summary_line(summary), err=True)


@main.command()
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path))
@click.option("--to", "target", type=click.Choice(["onnx", "torch"]), required=True,
              help="onnx: one ONNX graph (float64); torch: a standalone PyTorch file and its weights.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The file to write (default: RUN/model.onnx, RUN/model_torch.py).")
@user_errors
def export(run_dir, target, out):
    """Export a trained RUN, its fitted input transforms first, to ONNX or PyTorch.

    Both compute a_L, what predict computes before choosing a class, to 1e-12. The ONNX
    model's metadata holds the class names; the PyTorch file needs only torch and numpy
    and loads its weights from the .npz beside it.
    """
    from nnrun.tools.export import export as run_export

    click.echo(str(run_export(run_dir, target, out)))


@main.command()
@click.argument("folder", metavar="[DIR]", default="runs", type=click.Path(path_type=Path))
@click.option("--sort", "sort_key", default=None, metavar="KEY",
              help="Sort by a column or config key (accuracies best first, others ascending).")
@click.option("--reverse", is_flag=True, help="Reverse the sort order.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Keep rows whose column or config key has this value (repeatable).")
@click.option("--csv", "as_csv", is_flag=True, help="Machine output: CSV with full-precision numbers.")
@user_errors
def runs(folder, sort_key, reverse, filters, as_csv):
    """A table of the runs and sweeps under DIR (default runs/): time, name, status,
    the config values that differ between them, and the final metrics.

    On a terminal the table fits its width: the folder (its name holds the time and
    the run's name), the status and the metrics, then as many differing config
    values as fit; the rest are named below it. Piped or with --csv, every column.
    """
    from nnrun.report.runs import runs_table, text_table

    table = runs_table(folder, sort=sort_key, filters=filters, reverse=reverse)
    if as_csv:
        click.echo(table.to_csv(index=False), nl=False)
    elif table.empty:
        click.echo(f"no runs under {folder}" + (" match the filters" if filters else ""), err=True)
    else:
        import shutil

        # a terminal gets what fits its width; a pipe gets every column, as --csv does
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        first = [sort_key, *(f.partition("=")[0].strip() for f in filters)]  # the keys asked about
        text, left_out = text_table(table, width, first=first)
        click.echo(text)
        if left_out:
            click.echo(f"({len(left_out)} column{'s' if len(left_out) > 1 else ''} left out to fit "
                       f"{width} characters: {', '.join(left_out)}; --csv shows them all)", err=True)


@main.command()
@click.argument("run_dirs", metavar="RUN RUN ...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"),
              show_default=True, help="The page to write.")
@user_errors
def report(run_dirs, out):
    """One page comparing runs: the config keys that differ, the metrics side by side,
    and the loss and accuracy curves overlaid."""
    from nnrun.report.comparison import write_compare_page

    click.echo(str(write_compare_page(run_dirs, out)))


def exit_for_status(run_dir: Path) -> None:
    """Exit 130 after Ctrl-C (143 after SIGTERM) once the run is saved; else 0."""
    import json

    metrics = json.loads((run_dir / METRICS_JSON).read_text())
    if metrics.get("status") == "interrupted":
        sys.exit(130 if metrics.get("signal", 2) == 2 else 143)


def entry() -> None:
    """The ``nnrun`` command (and ``python -m nnrun``): :func:`main`, then an exit that skips
    the interpreter's teardown. Once the work is done, freeing every module and object of a
    process that imported numba, pandas and Jinja2 took 0.3-0.5 s ("exit" in
    benchmarks/bench_sweep_phases.py), on every command. The exit handlers still run
    (multiprocessing's, tqdm's) and the output is flushed first; a thread still running (none
    of nnrun's by then) gets the usual exit. Tests call :func:`main` through Click's runner."""
    import atexit
    import os
    import threading

    try:
        main()  # Click's standalone mode ends in sys.exit(code)
        code = 0
    except SystemExit as e:
        code = e.code
    if not isinstance(code, int):  # sys.exit("message") or sys.exit(None)
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    if any(t is not threading.main_thread() and t.is_alive() and not t.daemon for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()  # what Python's own exit runs first; then no teardown
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (nnrun runs | head): nothing more to say
            pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
