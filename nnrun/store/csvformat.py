"""Fast CSV rows for the history, 16 significant digits.

E1 records a million history rows; Python's float formatting takes seconds for that
on a small machine, longer than the training itself. With numba, :func:`format_rows`
writes the rows straight into a byte buffer. The first column is an integer, NaN is
an empty cell, and other numbers get up to 16 significant digits, trailing zeros
dropped: x is scaled by a correctly rounded power of ten and rounded to an integer,
so the value read back is within about 1e-16 relative of x (16 digits print 0.7 as
0.7; 17 would print 0.69999999999999996). Without numba, Python's ``%.16g``.
"""

from __future__ import annotations

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - exercised by the no-numba test
    njit = None


def _python_rows(block: np.ndarray) -> bytes:
    lines = []
    for row in block.tolist():
        cells = [str(int(row[0]))] + ["" if x != x else "%.16g" % x for x in row[1:]]
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()


if njit is not None:
    _POW10 = np.array([float(f"1e{k}") for k in range(-350, 351)])  # correctly rounded; inf past 308

    @njit(cache=True, error_model="numpy", nogil=True)
    def _put_int(buf, pos, value, tmp):
        if value < 0:
            buf[pos] = 45  # '-'
            pos += 1
            value = -value
        n = 0
        while True:
            tmp[n] = 48 + value % 10
            value //= 10
            n += 1
            if value == 0:
                break
        for i in range(n):
            buf[pos + i] = tmp[n - 1 - i]
        return pos + n

    # One compiled loop over a number's cases (NaN, inf, zero, scale, round, digits, trim):
    # kept whole because it runs a million times for E1, and numba's cache holds it as one.
    @njit(cache=True, error_model="numpy", nogil=True)
    def _put_float(buf, pos, x, pow10, digits):
        if x != x:
            return pos
        if x == np.inf or x == -np.inf:
            if x < 0:
                buf[pos] = 45
                pos += 1
            buf[pos], buf[pos + 1], buf[pos + 2] = 105, 110, 102  # inf
            return pos + 3
        if x == 0.0:
            buf[pos] = 48
            return pos + 1
        if x < 0:
            buf[pos] = 45
            pos += 1
            x = -x
        e = int(np.floor(np.log10(x)))
        d = _scaled(x, 15 - e, pow10)
        if d >= 10000000000000000:
            e += 1
            d = _scaled(x, 15 - e, pow10)
        elif d < 1000000000000000:
            e -= 1
            d = _scaled(x, 15 - e, pow10)
        for i in range(15, -1, -1):
            digits[i] = 48 + d % 10
            d //= 10
        last = 15
        while last > 0 and digits[last] == 48:
            last -= 1
        if -4 <= e < 16:
            if e < 0:
                buf[pos] = 48
                buf[pos + 1] = 46
                pos += 2
                for _ in range(-e - 1):
                    buf[pos] = 48
                    pos += 1
                for i in range(last + 1):
                    buf[pos] = digits[i]
                    pos += 1
            else:
                for i in range(max(last, e) + 1):
                    if i == e + 1:
                        buf[pos] = 46
                        pos += 1
                    buf[pos] = digits[i] if i <= last else 48
                    pos += 1
            return pos
        buf[pos] = digits[0]
        pos += 1
        if last > 0:
            buf[pos] = 46
            pos += 1
            for i in range(1, last + 1):
                buf[pos] = digits[i]
                pos += 1
        buf[pos] = 101  # e
        buf[pos + 1] = 45 if e < 0 else 43
        pos += 2
        ae = -e if e < 0 else e
        if ae < 10:
            buf[pos] = 48
            pos += 1
        return _put_int(buf, pos, ae, digits)

    @njit(cache=True, error_model="numpy", nogil=True)
    def _scaled(x, k, pow10):
        """round(x * 10^k) as an integer; 10^k from a table of correctly rounded powers."""
        if k > 300:  # subnormal x: scale in two steps so 10^k stays finite
            return np.int64(np.rint((x * 1e100) * pow10[k - 100 + 350]))
        return np.int64(np.rint(x * pow10[k + 350]))

    @njit(cache=True, error_model="numpy", nogil=True)
    def _rows(block, pow10):
        buf = np.empty(block.shape[0] * block.shape[1] * 28 + 16, dtype=np.uint8)
        digits = np.empty(24, dtype=np.uint8)
        pos = 0
        for r in range(block.shape[0]):
            pos = _put_int(buf, pos, np.int64(block[r, 0]), digits)
            for c in range(1, block.shape[1]):
                buf[pos] = 44  # ','
                pos = _put_float(buf, pos + 1, block[r, c], pow10, digits)
            buf[pos] = 10  # '\n'
            pos += 1
        return buf[:pos]

    def format_rows(block: np.ndarray) -> bytes:
        """CSV lines for the rows of ``block`` (first column an integer)."""
        return _rows(np.ascontiguousarray(block, dtype=np.float64), _POW10).tobytes()

else:  # pragma: no cover
    format_rows = _python_rows
