"""report.html opened in a real browser: headless Chromium (Debian's ``chromium``) via Playwright.

Checks that every image loads, that the console shows no errors, and that clicking a
column heading of the sweep's table sorts its rows. The pages are E1 (higham_2232),
E4 (moons_deep_relu) and the E5 digits sweep; E4 and E5 are shortened unless
NNRUN_BROWSER_FULL=1. A screenshot of each page is written to NNRUN_SCREENSHOTS (a
folder; docs/screenshots for the README) or to the test's temporary folder.
"""

import os
from pathlib import Path

import pytest

from conftest import CONFIGS, cli, run_dir_from

CHROMIUM = "/usr/bin/chromium"
# the closed network here makes Chromium's background connections fail noisily otherwise
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
FULL = os.environ.get("NNRUN_BROWSER_FULL") == "1"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium; .ci/run installs it)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The runs, trained from a folder that looks like a clone (configs/, datasets/), so that
    the pages (and the screenshots in docs/) show `nnrun train configs/... --runs-dir runs`."""
    work = tmp_path_factory.mktemp("browser")
    for name in ("configs", "datasets"):
        (work / name).symlink_to(CONFIGS.parent / name)
    here = os.getcwd()
    os.chdir(work)
    try:
        out = {}
        for name, overrides in (("higham_2232", []),
                                ("moons_deep_relu", [] if FULL else ["train.iterations=1500"])):
            result = cli("train", f"configs/{name}.yaml", *overrides, "--runs-dir", "runs", "-q")
            assert result.exit_code == 0, result.output
            out[name] = work / run_dir_from(result)
        small = [] if FULL else ["train.eta=0.01,0.1,1", "train.lambda=0.0001,0.01,1", "train.epochs=10"]
        result = cli("sweep", "configs/digits_sweep.yaml", *small, "--runs-dir", "runs", "-q")
        assert result.exit_code == 0, result.output
        out["digits_sweep"] = work / run_dir_from(result)
    finally:
        os.chdir(here)
    return out


def save_screenshot(page, path: Path) -> None:
    """A full-page screenshot; for docs/ reduced to a 128-colour palette (a fifth of the bytes)."""
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("NNRUN_SCREENSHOTS"):
        from PIL import Image

        with Image.open(path) as image:
            small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)


def screenshot_dir(tmp_path) -> Path:
    folder = Path(os.environ.get("NNRUN_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(browser, path: Path):
    """The page and the console errors it logs (console.error, uncaught exceptions, failed loads)."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = []
    page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url[:80]}"))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, errors


def check_images(page) -> int:
    """Every <img> has loaded and has a size; returns how many there are."""
    states = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.alt])")
    assert states, "the page shows no picture"
    broken = [alt for complete, width, alt in states if not (complete and width > 0)]
    assert not broken, f"images that did not load: {broken}"
    return len(states)


@pytest.mark.parametrize("name", ["higham_2232", "moons_deep_relu"])
def test_run_report_in_chromium(browser, folders, name, tmp_path):
    run_dir = folders[name]
    page, errors = open_page(browser, run_dir / "report.html")
    shown = check_images(page)
    pictures = [p for p in run_dir.iterdir() if p.suffix in (".png", ".gif", ".svg", ".jpg", ".jpeg")]
    assert shown == len(pictures)  # animation.gif too (moons_deep_relu saves snapshots)
    assert "test accuracy" in page.inner_text("body") or name == "higham_2232"
    assert page.inner_text("h1").startswith(name)
    shot = screenshot_dir(tmp_path) / f"report-{name}.png"
    save_screenshot(page, shot)
    page.close()
    assert not errors, errors
    assert shot.stat().st_size > 10_000
    print(f"{name}: {shown} images loaded, no console errors; screenshot {shot}")


def test_the_first_step_explained_on_a_small_runs_page(browser, folders, tmp_path):
    """E1 has 23 parameters: its page explains the first update, every number of it, and the
    numbers are those of `nnrun explain`."""
    run_dir = folders["higham_2232"]
    page, errors = open_page(browser, run_dir / "report.html")
    section = page.locator("pre.explained")
    text = section.inner_text()
    explained = cli("explain", run_dir / "config.yaml").stdout
    assert text.strip() in explained  # the same code, the same numbers (the page drops the heading)
    for part in ("Forward", "Backward", "Gradients", "Update (sgd)", "delta3 = sigmoid'(z3) o (a3 - y)"):
        assert part in text
    # the section, from its heading to the first screenful of numbers (page coordinates)
    top, bottom = page.evaluate("""() => {
        const h = [...document.querySelectorAll('h2')].find(e => e.textContent.includes('The first step'));
        const pre = document.querySelector('pre.explained');
        return [h.getBoundingClientRect().top + window.scrollY,
                pre.getBoundingClientRect().top + window.scrollY + Math.min(pre.offsetHeight, 1100)];
    }""")
    shot = screenshot_dir(tmp_path) / "first-step-higham_2232.png"
    page.screenshot(path=str(shot), full_page=True,
                    clip={"x": 60, "y": top - 12, "width": 1080, "height": bottom - top + 24})
    if os.environ.get("NNRUN_SCREENSHOTS"):
        from PIL import Image

        with Image.open(shot) as image:
            small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        small.save(shot, optimize=True)
    page.close()
    assert not errors, errors


def column_values(page, index: int) -> list[str]:
    return page.eval_on_selector_all(f"#results tbody tr td:nth-child({index + 1})",
                                     "cells => cells.map(c => c.textContent.trim())")


def test_sweep_report_in_chromium_sorts_its_table(browser, folders, tmp_path):
    sweep_dir = folders["digits_sweep"]
    page, errors = open_page(browser, sweep_dir / "report.html")
    shown = check_images(page)
    headings = page.eval_on_selector_all("#results thead th", "ths => ths.map(t => t.textContent.trim())")
    column = headings.index("test_accuracy")
    before = column_values(page, column)
    page.click(f"#results thead th:nth-child({column + 1}) button")
    ascending = column_values(page, column)
    page.click(f"#results thead th:nth-child({column + 1}) button")
    descending = column_values(page, column)
    numbers = [float(v) for v in descending if v]
    assert sorted(before) == sorted(ascending) == sorted(descending)  # the same rows, reordered
    assert numbers == sorted(numbers, reverse=True) and descending != before
    assert [float(v) for v in ascending if v] == sorted(numbers)
    assert page.get_attribute(f"#results thead th:nth-child({column + 1})", "aria-sort") == "descending"
    # two cold reads: the table, cut at the page's width, gave no sign that it scrolls sideways;
    # its scrolling box now casts a shadow at an edge with more beyond it
    box = page.eval_on_selector("#results", "t => getComputedStyle(t.parentElement).backgroundImage")
    assert box.count("radial-gradient") == 2, box
    # the best cell's link opens the cell's own page (the sweep writes the best cell's; the others
    # link to their folders until `nnrun plot CELL` writes theirs)
    link = page.get_attribute("#results tbody tr.best a", "href")
    assert link.endswith("/report.html")
    assert (sweep_dir / link).exists()
    page.click(f"#results thead th:nth-child({headings.index('train.eta') + 1}) button")  # back to a tidy order
    shot = screenshot_dir(tmp_path) / "report-digits_sweep.png"
    save_screenshot(page, shot)
    page.close()
    assert not errors, errors
    print(f"digits_sweep: {shown} image(s) loaded, no console errors, table sorted by test_accuracy "
          f"(top {descending[:3]}); screenshot {shot}")
    cell, cell_errors = open_page(browser, sweep_dir / link)
    # a sweep cell draws no pictures; its page says how to draw them
    assert cell.eval_on_selector_all("img", "imgs => imgs.length") == 0
    assert "nnrun plot" in cell.inner_text("body")
    cell.close()
    assert not cell_errors, cell_errors


def _parent(pid: int) -> int:
    # /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_chromium_is_really_used(browser):
    """The pages are checked in Debian's Chromium, not a browser Playwright downloaded: the
    version Playwright reports is the one `chromium --version` prints, and a process of this
    test session runs Chromium's binary."""
    import subprocess

    printed = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout
    assert browser.version and browser.version in printed, (browser.version, printed)
    ours = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            exe = os.path.realpath(entry / "exe")
            pid = int(entry.name)
            while pid > 1 and pid != os.getpid():
                pid = _parent(pid)
        except (OSError, ValueError, IndexError):
            continue
        if pid == os.getpid():
            ours.append(exe)
    assert any(Path(exe).name == "chromium" and exe.startswith("/usr/lib/chromium") for exe in ours), ours
