"""The registries are the code: each activation, loss, optimizer and schedule is one entry,
and the compiled dispatch takes its codes from them. These guards name what a new entry
lacks, and where it goes."""

from __future__ import annotations

import numpy as np
import pytest

from nnrun.maths.activations import ACTIVATIONS, SOFTMAX, code
from nnrun.maths.losses import LOSSES
from nnrun.maths.optimizers import HYPERS, OPTIMIZERS, SCALARS
from nnrun.maths.schedules import SCHEDULES


def missing_parts() -> list[str]:
    """Every part some registry entry lacks, as a sentence naming the place to add it."""
    from nnrun.engines import compiled
    from nnrun.tools.export import ONNX_ACTIVATIONS

    out = []
    for name, a in ACTIVATIONS.items():
        if a.torch is None:
            out.append(f"activation {name!r}: no PyTorch counterpart (its entry's torch=, nnrun/maths/activations.py)")
        if not a.torch_layer:
            out.append(f"activation {name!r}: no torch.nn layer for nnrun export (its entry's torch_layer=)")
        if name not in ONNX_ACTIVATIONS:
            out.append(f"activation {name!r}: no ONNX form for nnrun export (ONNX_ACTIVATIONS in nnrun/tools/export.py)")
        if a.code not in compiled.COMPILED_CODES:
            out.append(f"activation {name!r}: no compiled twin (act/dact in nnrun/engines/compiled.py, "
                       f"code {a.code}, listed in COMPILED_CODES)")
    for name, loss in LOSSES.items():
        if loss.torch is None:
            out.append(f"loss {name!r}: no PyTorch counterpart (its entry's torch=, nnrun/maths/losses.py)")
        if loss.code not in compiled.COMPILED_LOSSES:
            out.append(f"loss {name!r}: no compiled twin (nnrun/engines/compiled.py, code {loss.code}, "
                       "listed in COMPILED_LOSSES)")
    for name, o in OPTIMIZERS.items():
        if o.torch is None:
            out.append(f"optimizer {name!r}: no torch.optim counterpart (its entry's torch=)")
        if o.code not in compiled.COMPILED_OPTIMIZERS:
            out.append(f"optimizer {name!r}: no compiled update (update in nnrun/engines/compiled.py, code "
                       f"{o.code}, listed in COMPILED_OPTIMIZERS)")
        for key in o.hypers:
            if key not in HYPERS:
                out.append(f"optimizer {name!r}: hyper-parameter {key!r} is not in HYPERS (nnrun/maths/optimizers.py)")
    # what nnrun explain writes of each: its formulas, in text and in LaTeX
    for kind, table, fields, where in (
            ("activation", ACTIVATIONS, ("formula", "d_formula", "tex", "d_tex"), "activations.py"),
            ("loss", LOSSES, ("formula", "delta_formula", "tex", "delta_tex"), "losses.py"),
            ("optimizer", OPTIMIZERS, ("formula", "tex"), "optimizers.py")):
        for name, entry in table.items():
            for part in fields:
                if not getattr(entry, part):
                    out.append(f"{kind} {name!r}: no {part} for nnrun explain (its entry's {part}=, "
                               f"nnrun/maths/{where})")
    for name, schedule in SCHEDULES.items():
        if name != "plateau" and schedule.torch is None and name != "constant":
            out.append(f"schedule {name!r}: no torch.optim.lr_scheduler counterpart (nnrun/maths/schedules.py)")
    return out


def test_every_registry_entry_has_every_part():
    assert missing_parts() == []


def test_codes_and_slots_are_derived_from_the_registries():
    from nnrun.engines import compiled, layout

    assert [a.code for a in ACTIVATIONS.values()] == list(range(len(ACTIVATIONS)))
    assert code(SOFTMAX) not in [a.code for a in ACTIVATIONS.values()]
    assert [o.code for o in OPTIMIZERS.values()] == list(range(len(OPTIMIZERS)))
    assert [loss.code for loss in LOSSES.values()] == list(range(len(LOSSES)))
    # the slots of the hyper-parameters' scalars follow the registry, after lambda
    assert [layout.OPTIMIZER_SLOTS[s] for s in SCALARS] == list(range(1, 1 + len(SCALARS)))
    assert len(set(layout.OPTIMIZER_SLOTS.values()) | {layout.LAMBDA, layout.PLATEAU}) == len(SCALARS) + 2
    # what the compiled dispatch calls each code is the registry's code of that name
    for name, a in ACTIVATIONS.items():
        assert getattr(compiled, name.upper()) == a.code, name
    for name, o in OPTIMIZERS.items():
        assert getattr(compiled, name.upper()) == o.code, name
    for name, loss in LOSSES.items():
        assert getattr(compiled, name.upper()) == loss.code, name


def test_a_new_entry_without_its_parts_is_named(monkeypatch):
    """A throwaway activation and optimizer, registered without their twins: the guard names
    each missing part and where it goes."""
    from dataclasses import replace

    import nnrun.maths.activations as activations
    import nnrun.maths.optimizers as optimizers

    swish = replace(ACTIVATIONS["elu"], name="swish", torch=None, d_tex="", code=len(ACTIVATIONS))
    monkeypatch.setitem(activations.ACTIVATIONS, "swish", swish)
    lion = replace(OPTIMIZERS["sgd"], name="lion", hypers=("gamma",), code=len(OPTIMIZERS))
    monkeypatch.setitem(optimizers.OPTIMIZERS, "lion", lion)
    found = "\n".join(missing_parts())
    assert "activation 'swish': no PyTorch counterpart" in found
    assert f"activation 'swish': no compiled twin (act/dact in nnrun/engines/compiled.py, code {swish.code}" in found
    assert f"optimizer 'lion': no compiled update (update in nnrun/engines/compiled.py, code {lion.code}" in found
    assert "optimizer 'lion': hyper-parameter 'gamma' is not in HYPERS" in found
    assert "activation 'swish': no d_tex for nnrun explain (its entry's d_tex=, nnrun/maths/activations.py)" in found


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_compiled_activation_is_its_numpy_reference(name):
    """The compiled scalar twin against the NumPy reference, f and f', on both sides of 0."""
    from nnrun.engines import compiled

    z = np.array([-30.0, -2.5, -1e-3, 0.0, 1e-3, 0.7, 3.0, 40.0])
    a = ACTIVATIONS[name].f(z)
    for k, value in enumerate(z):
        assert compiled.act(ACTIVATIONS[name].code, value) == pytest.approx(a[k], rel=1e-14, abs=1e-300)
        assert compiled.dact(ACTIVATIONS[name].code, value, a[k]) == \
            pytest.approx(ACTIVATIONS[name].df(z, a)[k], rel=1e-14, abs=1e-300)
