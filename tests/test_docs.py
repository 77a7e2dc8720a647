"""The README's code runs as written."""

from conftest import CONFIGS

README = CONFIGS.parent / "README.md"


def test_the_readmes_python_api_runs_as_written(tmp_path, monkeypatch):
    """Cold read: the Python API snippet could not run (it read a new_rows.csv it never
    described); the snippet is executed here in a folder laid out as the checkout is."""
    text = README.read_text()
    block = text.split("## Python API", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    (tmp_path / "configs").symlink_to(CONFIGS)
    (tmp_path / "new_rows.csv").write_text("x1,x2\n0.1,0.2\n0.7,0.4\n")  # as the snippet's comment says
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["result"].status == "completed"
    assert namespace["run_dir"].parent.name == "runs" and (namespace["run_dir"] / "model.npz").exists()
    # the predictions are the saved network's on those two rows (no transforms in E1)
    import numpy as np

    import nnrun

    run_dir = namespace["run_dir"]
    outputs = nnrun.Network.from_npz(run_dir / "model.npz").predict(np.array([[0.1, 0.2], [0.7, 0.4]]))
    names = nnrun.load_data(nnrun.load_config(run_dir / "config.yaml")).class_names
    assert list(namespace["table"]["predicted"]) == [names[k] for k in outputs.argmax(axis=1)]
    assert namespace["summary"]["rows"] == 2


def test_the_readmes_python_and_jupyter_block_runs_as_written(tmp_path, monkeypatch):
    """The "From Python and Jupyter" block, executed as written in a folder laid out as the
    checkout is."""
    from matplotlib.figure import Figure

    import nnrun

    text = README.read_text()
    block = text.split("## From Python and Jupyter", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    (tmp_path / "configs").symlink_to(CONFIGS)
    monkeypatch.chdir(tmp_path)
    assert 'if __name__ == "__main__":' in block  # cold read: pasted into a script without it, a sweep's workers ran it again
    namespace: dict = {"__name__": "__main__"}  # as a script runs it
    exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
    run, grid = namespace["run"], namespace["grid"]
    assert run.status == "completed" and run.metrics["iterations"] == 20000
    assert isinstance(namespace["fig"], Figure)
    assert isinstance(grid, nnrun.Sweep) and len(grid.results) == 2 and isinstance(grid.best, nnrun.Run)
    assert namespace["again"].path == run.path


def test_the_readmes_python_and_jupyter_block_runs_as_a_script(tmp_path):
    """Cold read: the block pasted into a script ran again in every sweep worker (a
    multiprocessing traceback, two extra runs and an empty sweep folder); as a script it
    trains one run and one sweep of two cells, and says nothing on stderr but progress."""
    import subprocess
    import sys

    text = README.read_text()
    block = text.split("## From Python and Jupyter", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    (tmp_path / "configs").symlink_to(CONFIGS)
    (tmp_path / "readme_block.py").write_text(block)
    done = subprocess.run([sys.executable, "readme_block.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(folders) == 2 and folders[0].endswith("-higham_2232") and folders[1].endswith("-sweep"), folders
    assert len(list((tmp_path / "runs" / folders[1]).glob("c0*"))) == 2


def test_the_readmes_config_is_the_shipped_e1_config():
    import re

    import yaml

    block = re.search(r"```yaml\n(.*?)```", README.read_text(), re.S).group(1)
    assert yaml.safe_load(block) == yaml.safe_load((CONFIGS / "higham_2232.yaml").read_text())


def test_every_link_and_picture_of_the_docs_exists():
    """The README is a newcomer's page (at most about 250 lines); the reference moved to docs/,
    and every relative link or picture there and in the README points to a file."""
    import re

    assert len(README.read_text().splitlines()) <= 250
    pages = [README, *sorted((CONFIGS.parent / "docs").glob("*.md")), CONFIGS.parent / "ARCHITECTURE.md"]
    for page in pages:
        text = page.read_text()
        targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text) + re.findall(r'<img src="([^"]+)"', text)
        for target in targets:
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (page.parent / target).exists(), f"{page.name}: {target} does not exist"
