"""A search's two pictures, drawn by Optuna's own matplotlib visualisations:
``search_history.png`` (each trial's value against its number, and the best so far) and
``search_parallel.png`` (parallel coordinates of the searched axes, coloured by the value).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from nnrun.plots.style import STYLE, label_log_axis, save_figure
from nnrun.store.names import SEARCH_HISTORY, SEARCH_PARALLEL


def search_pictures(study, sweep_dir: Path, name: str, monitor: str) -> list[Path]:
    """Both pictures of ``study`` into ``sweep_dir`` (none when no trial completed); the files."""
    import matplotlib.pyplot as plt
    import optuna
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    completed = [t for t in trials if t.state == TrialState.COMPLETE]
    if not completed:
        return []
    pruned = sum(t.state == TrialState.PRUNED for t in trials)
    failed = sum(1 for t in trials if t.state == TrialState.FAIL and t.user_attrs.get("status"))  # cells written
    label = f"final {monitor}"
    counts = f"{len(completed)} completed" + (f", {pruned} pruned" if pruned else "") + (
        f", {failed} diverged or failed" if failed else "")
    written = []
    with warnings.catch_warnings(), plt.rc_context(STYLE):
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # an axis every completed trial shares one value of (a pruned grid's survivors)
        warnings.filterwarnings("ignore", message="Attempting to set identical low and high ylims")
        ax = optuna.visualization.matplotlib.plot_optimization_history(study, target_name=label)
        fig = ax.figure
        fig.set_size_inches(8, 4.5)
        ax.set_title(f"{name}: {label} of each trial, and the best so far\n({counts}; pruned, diverged and "
                     "failed trials have no final value)", fontsize=10)
        ax.set_xlabel("trial")
        ax.set_ylabel(f"{label} (lower is better)")
        # nnrun's look (white ground, whole trial numbers, its own words) over Optuna's grey
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_facecolor("white")
        ax.grid(True, color="0.85")
        for spine in ax.spines.values():
            spine.set_visible(True)
            spine.set_edgecolor("0.6")
        legend = ax.get_legend()
        if legend is not None:
            legend.get_frame().set_facecolor("white")
            legend.get_frame().set_edgecolor("0.8")
            for text in legend.get_texts():
                if text.get_text() == "Best Value":
                    text.set_text("best so far")
        for line in ax.get_lines():  # the best so far holds until a trial beats it: a step, not a slope
            if line.get_label() == "Best Value":
                line.set_drawstyle("steps-post")
        values = [t.value for t in completed]
        if min(values) > 0 and max(values) > 10 * min(values):  # decades apart: a log scale, in plain numbers
            ax.set_yscale("log")
            label_log_axis(ax.yaxis, *sorted(ax.get_ylim()))
        fig.tight_layout()
        path = Path(sweep_dir) / SEARCH_HISTORY
        save_figure(fig, path)
        plt.close(fig)
        written.append(path)
        ax = optuna.visualization.matplotlib.plot_parallel_coordinate(study, target_name=label)
        fig = ax.figure
        fig.set_size_inches(9, 4.8)
        # Optuna's blues run to white on a grey ground, where the worst trials vanish: a white
        # ground, and viridis short of its palest yellow, so every line shows; reversed, so that
        # yellow is better (the lower loss), as in heatmaps.png
        from matplotlib.colors import ListedColormap
        import numpy as np

        visible = ListedColormap(plt.get_cmap("viridis")(np.linspace(0.93, 0.0, 256)))
        ax.set_facecolor("white")
        for collection in ax.collections:
            collection.set_cmap(visible)
            collection.set_linewidth(1.6)
        for other in fig.axes:
            for spine in other.spines.values():  # Optuna's vertical axes are spines, white for its grey ground
                if spine.get_edgecolor()[:3] == (1.0, 1.0, 1.0):
                    spine.set_edgecolor("0.6")
            if other is ax or other.get_label() == "<colorbar>":
                continue
            if other.get_yscale() == "log":  # plain numbers (0.2, 0.5, 1), as every nnrun picture, not 2×10⁻¹
                label_log_axis(other.yaxis, *sorted(other.get_ylim()))
            for text in other.get_yticklabels():  # the inner axes' labels sit over the lines: a ground of their own
                text.set_bbox({"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.0})
        ax.set_title(f"{name}: the completed trials' axes, coloured by {label} (yellow is lower: better)", fontsize=10,
                     pad=10)
        fig.tight_layout()
        path = Path(sweep_dir) / SEARCH_PARALLEL
        save_figure(fig, path)
        plt.close(fig)
        written.append(path)
    return written
