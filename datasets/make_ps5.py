"""Generate datasets/ps5_data.csv, the stand-in for E3's problem-set data.

Columns x_1, x_2, classification as in the report, with its very different scales:
x_1 in [-6, -4] and x_2 in [-900, 1035]. The classes are split by a smooth curve
(what a 2-7-1 sigmoid net can learn), x_2' > 0.55 sin(2.4 x_1') - 0.1 in the
rescaled coordinates x_1' = x_1 + 5, x_2' = (x_2 - 67.5) / 967.5, with 4% of the
labels flipped near nothing in particular (label noise), so test accuracy tops out
a little below 1. Run from the repository root: python datasets/make_ps5.py
"""

import numpy as np

rng = np.random.default_rng(2019)
n = 500
x1 = rng.uniform(-6.0, -4.0, n)
x2 = rng.uniform(-900.0, 1035.0, n)
u, v = x1 + 5.0, (x2 - 67.5) / 967.5
label = (v > 0.55 * np.sin(2.4 * u) - 0.1).astype(int)
flip = rng.random(n) < 0.04
label[flip] = 1 - label[flip]
with open("datasets/ps5_data.csv", "w") as f:
    f.write("x_1,x_2,classification\n")
    for a, b, c in zip(x1, x2, label):
        f.write(f"{a:.6f},{b:.4f},{c}\n")
