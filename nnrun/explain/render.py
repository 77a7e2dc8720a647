"""An explanation (:func:`nnrun.explain.steps.explain_steps`) as text for the terminal, or as
Markdown with ``$...$`` maths that renders in Jupyter and on GitHub.

Numbers are printed to 9 significant digits (JSON keeps every bit). A network past about
60 parameters, or a step of more than 8 samples, is shown by its shapes and first rows,
and the text says what was left out; ``full=True`` shows everything.
"""

from __future__ import annotations

import numpy as np

from nnrun.maths.activations import ACTIVATIONS, SOFTMAX, SOFTMAX_FORMULA, SOFTMAX_TEX
from nnrun.maths.losses import LOSSES
from nnrun.maths.optimizers import OPTIMIZERS

DIGITS = 9
MAX_PARAMETERS = 60  # above this, or ...
MAX_BATCH = 8  # ... a larger step, matrices are cut to their first rows and columns
SHOWN_ROWS, SHOWN_COLUMNS = 3, 8


def number(x: float) -> str:
    return f"{x:.{DIGITS}g}"


class _Cut:
    """How much of a matrix to show, and a note of what was left out."""

    def __init__(self, full: bool):
        self.full = full
        self.left_out: set[str] = set()

    def __call__(self, name: str, M) -> tuple[np.ndarray, str]:
        """(the part shown, a note such as ' (100 x 64; 3 x 6 shown)')."""
        M = np.atleast_2d(np.asarray(M, dtype=float))
        if self.full or (M.shape[0] <= SHOWN_ROWS + 1 and M.shape[1] <= SHOWN_COLUMNS + 1):
            return M, ""
        shown = M[:SHOWN_ROWS, :SHOWN_COLUMNS]
        self.left_out.add(name)
        if M.shape[0] == 1:  # a vector (a bias, or one sample's row)
            return shown, f" ({M.shape[1]} entries; the first {shown.shape[1]} shown)"
        return shown, f" ({M.shape[0]} x {M.shape[1]}; the first {shown.shape[0]} x {shown.shape[1]} shown)"


def _text_matrix(M: np.ndarray, indent: str, cut_rows: bool, cut_columns: bool) -> str:
    cells = [[number(x) for x in row] for row in M]
    if len(cells) == 1 and not cut_rows:  # a vector, or one sample's row
        return "[" + ", ".join(cells[0]) + (", ..." if cut_columns else "") + "]"
    widths = [max(len(row[j]) for row in cells) for j in range(M.shape[1])]
    lines = []
    for i, row in enumerate(cells):
        body = ", ".join(c.rjust(w) for c, w in zip(row, widths)) + (", ..." if cut_columns else "")
        lines.append(("[[" if i == 0 else indent + " [") + body + "]" + ("]" if i == len(cells) - 1 and not cut_rows else ","))
    if cut_rows:
        lines.append(indent + " ...]")
    return "\n".join(lines)


def _tex_matrix(M: np.ndarray, cut_rows: bool, cut_columns: bool) -> str:
    rows = [" & ".join(number(x) for x in row) + (r" & \cdots" if cut_columns else "") for row in M]
    if cut_rows:
        rows.append(r" & ".join([r"\vdots"] * (M.shape[1] + (1 if cut_columns else 0))))
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def _f(name: str) -> tuple[str, str, str, str]:
    """(f in text, f' in text, f in TeX, f' in TeX) of an activation or softmax."""
    if name == SOFTMAX:
        return SOFTMAX_FORMULA, "J (its Jacobian)", SOFTMAX_TEX, "J"
    a = ACTIVATIONS[name]
    return a.formula, a.d_formula, a.tex, a.d_tex


class _Writer:
    """Lines of text or Markdown; matrices cut as :class:`_Cut` says."""

    def __init__(self, markdown: bool, full: bool, big: bool):
        self.md, self.lines = markdown, []
        self.cut = _Cut(full or not big)

    def say(self, text: str = "") -> None:
        self.lines.append(text)

    def heading(self, text: str, level: int) -> None:
        if self.md:
            self.say(f"{'#' * level} {text}")
            self.say()
        else:
            self.say(text)

    def maths(self, text: str, tex: str) -> None:
        """A formula: text for the terminal, display maths for Markdown."""
        if self.md:
            self.say(f"$$ {tex} $$")
            self.say()
        else:
            self.say(f"    {text}")

    def matrix(self, name: str, tex_name: str, M, note: str = "") -> None:
        M_full = np.atleast_2d(np.asarray(M, dtype=float))
        shown, cut = self.cut(name, M_full)
        cut_rows, cut_columns = shown.shape[0] < M_full.shape[0], shown.shape[1] < M_full.shape[1]
        if self.md:
            sign = "" if tex_name.endswith("leftarrow") else " ="
            self.say(f"$$ {tex_name}{sign} {_tex_matrix(shown, cut_rows, cut_columns)} $$" + (f" {note}{cut}" if note or cut else ""))
            self.say()
        else:
            head = f"      {name} = "
            self.say(head + _text_matrix(shown, " " * len(head), cut_rows, cut_columns) + (f"   {note}{cut}" if note or cut else ""))

    def paragraph(self, text: str) -> None:
        """Prose: wrapped at 100 columns in the terminal, one line in Markdown."""
        if self.md:
            self.say(text)
        else:
            import textwrap

            self.lines.extend(textwrap.wrap(text, 100, break_on_hyphens=False))

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


def render(explained: dict, markdown: bool = False, full: bool = False, title: str | None = None) -> str:
    """The explanation as text (``markdown=False``) or Markdown."""
    net = explained["network"]
    sizes = net["architecture"]
    n_params = sum(sizes[l + 1] * (sizes[l] + 1) for l in range(len(sizes) - 1))
    steps = explained["steps"]
    batch = max((len(s["samples"]) for s in steps), default=0)
    w = _Writer(markdown, full, big=n_params > MAX_PARAMETERS or batch > MAX_BATCH)
    _preamble(w, explained, title, n_params)
    for step in steps:
        _step(w, step, net)
    if w.cut.left_out:
        w.say()
        w.say(f"Left out: parts of {', '.join(sorted(w.cut.left_out))}, each marked with its shape and what is "
              f"shown (a network of {n_params} parameters, steps of up to {batch} samples); --full shows "
              "everything, --format json keeps every number.")
    return w.text()


def _preamble(w: _Writer, explained: dict, title: str | None, n_params: int) -> None:
    net = explained["network"]
    arch = "-".join(map(str, net["architecture"]))
    n = len(explained["steps"])
    if title != "":  # "": the caller has its own heading
        w.heading(title or f"The first {'update' if n == 1 else f'{n} updates'} of the run, every number", 2)
    opt = OPTIMIZERS[net["optimizer"]]
    w.paragraph(f"Network {arch} ({n_params} parameters): "
                + ", ".join(f"layer {l + 1} {f}" for l, f in enumerate(net["activations"]))
                + f"; loss {net['loss']}; optimizer {net['optimizer']}, eta {net['eta']:g}"
                + (f", lambda {net['lambda']:g}" if net["lambda"] else "")
                + (f"; dropout {net['dropout']}" if net["dropout"] else "")
                + f"; batch {net['batch_size']}. "
                + ("$W_l$ has $n_l$ rows and $n_{l-1}$ columns" if w.md else "W_l has n_l rows and n_(l-1) columns")
                + ", as in model.npz; vectors are written as rows, one row per sample. The numbers are those of "
                  f"`nnrun train` (its NumPy reference engine, bit for bit), printed to {DIGITS} significant digits."
                + (f" The optimizer's state ({', '.join(opt.state)}) starts at 0." if opt.state else ""))
    w.say()


def _listed(w: _Writer, name: str, values) -> str:
    """A sample's values, cut to their first entries as matrices are (an image's 64 pixels)."""
    if w.cut.full or len(values) <= 12:  # a one-hot target of 10 classes stays whole
        return ", ".join(number(v) for v in values)
    w.cut.left_out.add(f"each sample's {name}")
    return ", ".join(number(v) for v in values[:SHOWN_COLUMNS]) + f", ... ({len(values)} values)"


def _layer_head(w: _Writer, layer: dict, L: int) -> int:
    """A layer's line (its activation and formula) and its weights; returns its number."""
    l, f = layer["layer"], layer["activation"]
    text_f, _, tex_f, _ = _f(f)
    w.say(f"{'' if w.md else '    '}Layer {l}{' (output)' if l == L else ''}: {f}, f(z) = "
          + (f"${tex_f}$" if w.md else text_f))
    if w.md:
        w.say()
    w.matrix(f"W{l}", f"W_{l}", layer["W"])
    w.matrix(f"b{l}", f"b_{l}^\\top", [layer["b"]])
    return l


def _step(w: _Writer, step: dict, net: dict) -> None:
    L = len(step["layers"])
    m = len(step["samples"])
    w.heading(f"Step {step['iteration']} (iteration {step['iteration']}): "
              f"{m} sample{'s' if m > 1 else ''}, eta = {number(step['eta'])}", 3)
    for s in step["samples"][:m if w.cut.full or m <= MAX_BATCH else SHOWN_ROWS]:
        x, y = _listed(w, "x", s["x"]), _listed(w, "y", s["y"])
        w.say(f"{'- ' if w.md else '  '}training sample {s['index']} (counting from 0): x = [{x}], y = [{y}]")
    if not (w.cut.full or m <= MAX_BATCH):
        w.say(f"{'- ' if w.md else '  '}... and {m - SHOWN_ROWS} more")
        w.cut.left_out.add("samples")
    w.say()
    # ---- forward
    w.heading("Forward", 4)
    w.maths("z_l = W_l a_(l-1) + b_l,   a_l = f_l(z_l)", r"z_l = W_l\, a_{l-1} + b_l, \qquad a_l = f_l(z_l)")
    w.matrix("a0", "a_0^\\top", step["a0"], "(the inputs, after the transforms)" if not w.md else "")
    for layer in step["layers"]:
        l = _layer_head(w, layer, L)
        w.matrix(f"z{l}", f"z_{l}^\\top", layer["z"])
        if "mask" in layer:
            w.matrix(f"m{l}", f"m_{l}^\\top", layer["mask"], "(dropout: 0 drops a unit, 1/(1-p) keeps it)")
            w.matrix(f"a{l}", f"a_{l}^\\top = (f(z_{l}) \\circ m_{l})^\\top", layer["a"])
        else:
            w.matrix(f"a{l}", f"a_{l}^\\top", layer["a"])
    w.say()
    # ---- loss
    loss = LOSSES[net["loss"]]
    w.heading("Loss", 4)
    mean = f"mean over the {m} samples of this step" if m > 1 else "for the sample of this step"
    w.say(f"{'' if w.md else '    '}C = " + (f"${loss.tex}$" if w.md else loss.formula) + f", {mean}: "
          + (f"$C = {number(step['loss'])}$" if w.md else number(step["loss"])))
    if "objective" in step:
        w.say(f"{'' if w.md else '    '}with the penalty lambda/2 sum ||W_l||^2: {number(step['objective'])}")
    if abs(step["train_loss"] - step["loss"]) > 0:
        w.say(f"{'' if w.md else '    '}(the loss over the whole training set, before this step, as a record would "
              f"show it: {number(step['train_loss'])})")
    w.say()
    # ---- backward
    w.heading("Backward", 4)
    out = net["activations"][-1]
    general_delta = loss.delta_formula if out == SOFTMAX else loss.delta_formula.partition("  (softmax: ")[0]
    w.maths(f"delta_L = {general_delta};  delta_l = f_l'(z_l) o (W_(l+1)^T delta_(l+1))",
            rf"\delta_L = {loss.delta_tex}, \qquad \delta_l = f_l'(z_l) \circ (W_{{l+1}}^\top \delta_{{l+1}})")
    for layer in reversed(step["layers"]):
        l, f = layer["layer"], layer["activation"]
        _, text_d, _, tex_d = _f(f)
        if l == L:  # the loss's own delta_L, for this output
            general, _, softmax_case = loss.delta_formula.partition("  (softmax: ")
            formula = softmax_case.rstrip(")") if out == SOFTMAX and softmax_case else general
            named = formula.replace("f'", f"{out}'").replace("_L", str(l))
            w.say(f"    delta{l} = {named}" + ("" if "f'" not in formula else f", {out}'(z) = {text_d}")
                  if not w.md else f"$\\delta_{l} = {loss.delta_tex.replace('_L', f'_{l}')}$ ({net['loss']}, {out} output)"
                  + ("" if "f'" not in loss.delta_tex else f", with $f'(z) = {tex_d}$"))
        else:
            mask = " o m" + str(l) if "mask" in layer else ""
            w.say((f"    delta{l} = {f}'(z{l}) o (W{l + 1}^T delta{l + 1}){mask}, {f}'(z) = {text_d}") if not w.md else
                  f"$\\delta_{l} = f'(z_{l}) \\circ (W_{{{l + 1}}}^\\top \\delta_{{{l + 1}}})"
                  + (f" \\circ m_{l}" if mask else "") + f"$, with $f'(z) = {tex_d}$")
        if w.md:
            w.say()
        w.matrix(f"delta{l}", f"\\delta_{l}^\\top", layer["delta"])
    w.say()
    # ---- gradients
    w.heading("Gradients", 4)
    lam = net["lambda"]
    w.maths("dC/dW_l = mean over the samples of delta_l a_(l-1)^T" + (" + lambda W_l" if lam else "")
            + ";  dC/db_l = mean of delta_l",
            r"\frac{\partial C}{\partial W_l} = \frac1m \sum_i \delta_l^{(i)} a_{l-1}^{(i)\top}"
            + (r" + \lambda W_l" if lam else "") + r", \qquad \frac{\partial C}{\partial b_l} = \frac1m \sum_i \delta_l^{(i)}")
    for layer in step["layers"]:
        l = layer["layer"]
        if "grad_W_data" in layer:
            w.matrix(f"dC/dW{l} (the data part)", rf"\frac{{1}}{{m}}\sum_i \delta_{l} a_{{{l - 1}}}^\top", layer["grad_W_data"])
        w.matrix(f"dC/dW{l}", rf"\frac{{\partial C}}{{\partial W_{l}}}", layer["grad_W"])
        w.matrix(f"dC/db{l}", rf"\frac{{\partial C}}{{\partial b_{l}}}^\top", [layer["grad_b"]])
    w.say()
    # ---- update
    opt_state = step["optimizer"]
    opt = OPTIMIZERS[opt_state["name"]]
    w.heading(f"Update ({opt.name})", 4)
    hyper = ", ".join(f"{k} = {number(v)}" for k, v in opt_state.items() if k not in ("name",))
    w.maths(f"{opt.formula}   (for each W_l and b_l: p is the parameter, g its gradient; eta = {number(step['eta'])}, {hyper})",
            rf"{opt.tex} \qquad (\eta = {number(step['eta'])})")
    if w.md and hyper:
        w.say(f"with {hyper}, for each $W_l$ and $b_l$ ($p$ the parameter, $g$ its gradient)")
        w.say()
    if "skipped" in step:
        w.say(f"{'' if w.md else '    '}{step['skipped']}")
    for layer in step["layers"]:
        l = layer["layer"]
        for name in opt.state:
            w.matrix(f"{name}_W{l}", f"{name}_{{W_{l}}}", layer[f"{name}_W"])
            w.matrix(f"{name}_b{l}", f"{name}_{{b_{l}}}^\\top", [layer[f"{name}_b"]])
        w.matrix(f"W{l} after", f"W_{l} \\leftarrow", layer["W_after"])
        w.matrix(f"b{l} after", f"b_{l}^\\top \\leftarrow", [layer["b_after"]])
    if step.get("diverged"):
        w.say("The run diverged here: the loss or its gradient is not finite.")
    w.say()


def render_input(explained: dict, markdown: bool = False, full: bool = False) -> str:
    """One input through a trained run (:func:`nnrun.explain.forward.explain_input`)."""
    sizes = [len(explained["a0"])] + [len(layer["b"]) for layer in explained["layers"]]
    n_params = sum(sizes[l + 1] * (sizes[l] + 1) for l in range(len(sizes) - 1))
    w = _Writer(markdown, full, big=n_params > MAX_PARAMETERS)
    w.heading(f"One input through the trained network of {explained['run']}", 2)
    features = ", ".join(f"{name} = {number(v)}" for name, v in zip(explained["features"], explained["x"]))
    w.say(f"Input: {features}.")
    if explained["transforms"]:
        w.say(f"After the transforms fitted in training ({', '.join(explained['transforms'])}):")
        if w.md:
            w.say()
    w.matrix("a0", "a_0^\\top", [explained["a0"]])
    w.maths("z_l = W_l a_(l-1) + b_l,   a_l = f_l(z_l)", r"z_l = W_l\, a_{l-1} + b_l, \qquad a_l = f_l(z_l)")
    L = len(explained["layers"])
    for layer in explained["layers"]:
        l = _layer_head(w, layer, L)
        w.matrix(f"z{l}", f"z_{l}^\\top", [layer["z"]])
        w.matrix(f"a{l}", f"a_{l}^\\top", [layer["a"]])
    if w.cut.left_out:
        w.say(f"(Left out: parts of {', '.join(sorted(w.cut.left_out))}, each marked with its shape and what is "
              "shown; --full shows everything.)")
    w.say()
    w.say(f"{'**Decision**: ' if w.md else 'Decision: '}{explained['decision']}")
    return w.text()
