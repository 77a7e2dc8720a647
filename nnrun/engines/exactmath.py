"""e^x, e^x - 1, log x, log(1 + x) and tanh x for the compiled kernels, the same bits on every machine.

``math.exp`` and friends in numba code become calls to the C library (or LLVM
intrinsics lowered to it), whose results may depend on the CPU the library dispatches
to (glibc picks FMA variants at run time) and on the library's version. These are
written from ``+ - * /``, comparisons and the IEEE bits of doubles only, compiled
without fast-math, so each result is fixed by IEEE 754 arithmetic alone:

* :func:`exp`: e^x = 2^(k/128) e^r, k = round(128 x / ln 2), r = x - k ln 2 / 128 with
  ln 2 split in two (Cody & Waite), 2^(j/128) from a table of double-double values built
  in Python (``decimal``) at import, e^r - 1 by its Taylor series to r^5 (|r| <= 0.0028).
* :func:`log`, :func:`log1p`, :func:`expm1`: ports of fdlibm's ``__ieee754_log``,
  ``log1p`` and ``expm1`` (Sun Microsystems, 1993; the algorithms of FreeBSD's and musl's
  libm), each with an error below 1 ulp.
* :func:`tanh`: fdlibm's ``tanh``, from :func:`expm1`.

Accuracy against NumPy is tested in tests/test_exactmath.py (at most 1 ulp for exp,
log, log1p, expm1; 2 for tanh) over normal, subnormal, huge and special arguments.
"""

from __future__ import annotations

import decimal

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

import nnrun.engines.cache  # noqa: F401 - before any kernel: the cache stamp covers every engine file

jit = njit(cache=True, error_model="numpy", nogil=True, _nrt=False)  # no fast-math: every operation as written


@intrinsic
def bits_of(typingctx, x):
    """The IEEE 754 bits of the double x as an int64."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def from_bits(typingctx, b):
    """The double whose IEEE 754 bits are the int64 b."""
    if b != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


LOW32 = np.int64(0xFFFFFFFF)


@jit
def high_word(x):
    """The upper 32 bits of x, sign included (fdlibm's __HI, as a signed integer)."""
    return bits_of(x) >> 32


@jit
def with_high_word(x, hi):
    """x with its upper 32 bits replaced by hi."""
    return from_bits((np.int64(hi) << 32) | (bits_of(x) & LOW32))


@jit
def pow2(e):
    """2^e for an integer -1022 <= e <= 1023, from its exponent bits."""
    return from_bits(np.int64(e + 1023) << 52)


# --------------------------------------------------------------------------- exp
N = 128  # table entries per octave
LN2_HI = 6.93147180369123816490e-01  # 0x3fe62e42 fee00000: k * LN2_HI / N exact for |k| < 2^20
LN2_LO = 1.90821492927058770002e-10  # 0x3dea39ef 35793c76
N_LOG2E = N * 1.4426950408889634
LN2N_HI, LN2N_LO = LN2_HI / N, LN2_LO / N  # exact: divisions by a power of 2
ROUND = 1.5 * 2.0 ** 52  # x + ROUND - ROUND rounds x to an integer (|x| < 2^51)
EXP_HI = 709.782712893384  # above: e^x overflows (numpy's threshold is 7.09782712893383973096e+02)
EXP_LO = -745.1332191019412  # below: e^x < half the smallest subnormal, 0


def _two_pow_table(n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """2^(j/n) for j < n as (nearest double, the rest), from 40-digit decimal arithmetic."""
    ctx = decimal.Context(prec=40)
    hi, lo = np.empty(n), np.empty(n)
    for j in range(n):
        exact = ctx.power(decimal.Decimal(2), ctx.divide(decimal.Decimal(j), decimal.Decimal(n)))
        hi[j] = float(exact)
        lo[j] = float(ctx.subtract(exact, decimal.Decimal(hi[j])))
    return hi, lo


T_HI, T_LO = _two_pow_table()


@jit
def exp_parts(x):
    """(s, k) with e^x = s 2^(k >> 7) for |x| < 746: s = 2^(j/128) e^r, j = k & 127."""
    kd = (x * N_LOG2E + ROUND) - ROUND
    k = np.int64(kd)
    r = (x - kd * LN2N_HI) - kd * LN2N_LO
    r2 = r * r
    q = r + r2 * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0)))))
    j = k & (N - 1)
    t = T_HI[j]
    return t + (T_LO[j] + t * q), k


@jit
def exp(x):
    """e^x to within 1 ulp (a fraction of one on almost all arguments); inf above 709.78,
    0 below -745.13, subnormal results between, NaN for NaN."""
    if abs(x) < 708.0:
        s, k = exp_parts(x)
        return s * pow2(k >> 7)
    if x != x:
        return x
    if x > EXP_HI:
        return np.inf
    if x < EXP_LO:
        return 0.0
    s, k = exp_parts(x)
    e = k >> 7
    if e > 0:
        return (s * pow2(e - 1)) * 2.0  # overflows to inf by itself just above EXP_HI
    return (s * pow2(e + 200)) * pow2(-200)  # subnormal: rounded twice, within 1 ulp


# --------------------------------------------------------------------------- log, log1p
LG1 = 6.666666666666735130e-01  # 3FE55555 55555593
LG2 = 3.999999999940941908e-01  # 3FD99999 9997FA04
LG3 = 2.857142874366239149e-01  # 3FD24924 94229359
LG4 = 2.222219843214978396e-01  # 3FCC71C5 1D8E78AF
LG5 = 1.818357216161805012e-01  # 3FC74664 96CB03DE
LG6 = 1.531383769920937332e-01  # 3FC39A09 D078C69F
LG7 = 1.479819860511658591e-01  # 3FC2F112 DF3E5244
TWO54 = 1.80143985094819840000e+16  # 2^54


@jit
def log(x):
    """log x (fdlibm's __ieee754_log): -inf at +-0, NaN below 0 and for NaN, inf at inf."""
    hx = high_word(x)
    lx = bits_of(x) & LOW32
    k = 0
    if hx < 0x00100000:  # x < 2^-1022: zero, negative or subnormal
        if ((hx & 0x7FFFFFFF) | lx) == 0:
            return -np.inf
        if hx < 0:
            return np.nan
        k -= 54
        x *= TWO54
        hx = high_word(x)
    if hx >= 0x7FF00000:
        return x + x
    k += (hx >> 20) - 1023
    hx &= 0x000FFFFF
    i = (hx + 0x95F64) & 0x100000
    x = with_high_word(x, hx | (i ^ 0x3FF00000))  # x or x / 2 in [sqrt(2)/2, sqrt(2))
    k += i >> 20
    f = x - 1.0
    dk = float(k)
    if (0x000FFFFF & (2 + hx)) < 3:  # |f| < 2^-20
        if f == 0.0:
            if k == 0:
                return 0.0
            return dk * LN2_HI + dk * LN2_LO
        R = f * f * (0.5 - 0.33333333333333333 * f)
        if k == 0:
            return f - R
        return dk * LN2_HI - ((R - dk * LN2_LO) - f)
    s = f / (2.0 + f)
    z = s * s
    i = hx - 0x6147A
    w = z * z
    j = 0x6B851 - hx
    t1 = w * (LG2 + w * (LG4 + w * LG6))
    t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)))
    i |= j
    R = t2 + t1
    if i > 0:
        hfsq = 0.5 * f * f
        if k == 0:
            return f - (hfsq - s * (hfsq + R))
        return dk * LN2_HI - ((hfsq - (s * (hfsq + R) + dk * LN2_LO)) - f)
    if k == 0:
        return f - s * (f - R)
    return dk * LN2_HI - ((s * (f - R) - dk * LN2_LO) - f)


HX_M02929 = 0xBFD2BEC4 - 2 ** 32  # high word of -0.2929, as a signed integer


@jit
def log1p(x):
    """log(1 + x) (fdlibm's log1p): -inf at -1, NaN below -1 and for NaN, x for |x| < 2^-54."""
    hx = high_word(x)
    ax = hx & 0x7FFFFFFF
    k = 1
    f = 0.0
    c = 0.0
    hu = 0
    if hx < 0x3FDA827A:  # x < 0.41422
        if ax >= 0x3FF00000:  # x <= -1
            if x == -1.0:
                return -np.inf
            return np.nan
        if ax < 0x3E200000:  # |x| < 2^-29
            if ax < 0x3C900000:  # |x| < 2^-54
                return x
            return x - x * x * 0.5
        if hx > 0 or hx <= HX_M02929:  # -0.2929 < x < 0.41422
            k = 0
            f = x
            hu = 1
    if hx >= 0x7FF00000:
        return x + x
    if k != 0:
        if hx < 0x43400000:
            u = 1.0 + x
            hu = high_word(u)
            k = (hu >> 20) - 1023
            c = (1.0 - (u - x)) if k > 0 else (x - (u - 1.0))  # the rounding error of 1 + x
            c /= u
        else:
            u = x
            hu = high_word(u)
            k = (hu >> 20) - 1023
            c = 0.0
        hu &= 0x000FFFFF
        if hu < 0x6A09E:  # u < sqrt(2) 2^k
            u = with_high_word(u, hu | 0x3FF00000)
        else:
            k += 1
            u = with_high_word(u, hu | 0x3FE00000)
            hu = (0x00100000 - hu) >> 2
        f = u - 1.0
    hfsq = 0.5 * f * f
    dk = float(k)
    if hu == 0:  # |f| < 2^-20
        if f == 0.0:
            if k == 0:
                return 0.0
            c += dk * LN2_LO
            return dk * LN2_HI + c
        R = hfsq * (1.0 - 0.66666666666666666 * f)
        if k == 0:
            return f - R
        return dk * LN2_HI - ((R - (dk * LN2_LO + c)) - f)
    s = f / (2.0 + f)
    z = s * s
    R = z * (LG1 + z * (LG2 + z * (LG3 + z * (LG4 + z * (LG5 + z * (LG6 + z * LG7))))))
    if k == 0:
        return f - (hfsq - s * (hfsq + R))
    return dk * LN2_HI - ((hfsq - (s * (hfsq + R) + (dk * LN2_LO + c))) - f)


# --------------------------------------------------------------------------- expm1, tanh
O_THRESHOLD = 7.09782712893383973096e+02  # 0x40862E42 FEFA39EF
INV_LN2 = 1.44269504088896338700e+00  # 0x3ff71547 652b82fe
Q1 = -3.33333333333331316428e-02  # BFA11111 111110F4
Q2 = 1.58730158725481460165e-03  # 3F5A01A0 19FE5585
Q3 = -7.93650757867487942473e-05  # BF14CE19 9EAADBB7
Q4 = 4.00821782732936239552e-06  # 3ED0CFCA 86E65239
Q5 = -2.01099218183624371326e-07  # BE8AFDB7 6E09C32D


@jit
def expm1(x):
    """e^x - 1 (fdlibm's expm1): -1 below -38.1, inf above 709.78, x for |x| < 2^-54."""
    hx = high_word(x)
    negative = hx < 0
    hx &= 0x7FFFFFFF  # high word of |x|
    if hx >= 0x4043687A:  # |x| >= 56 ln 2
        if hx >= 0x40862E42:  # |x| >= 709.78
            if hx >= 0x7FF00000:
                if x != x:
                    return x
                return -1.0 if negative else x
            if x > O_THRESHOLD:
                return np.inf
        if negative:
            return -1.0
    c = 0.0
    if hx > 0x3FD62E42:  # |x| > ln(2) / 2
        if hx < 0x3FF0A2B2:  # and |x| < 1.5 ln 2
            if not negative:
                hi, lo, k = x - LN2_HI, LN2_LO, 1
            else:
                hi, lo, k = x + LN2_HI, -LN2_LO, -1
        else:
            k = np.int64(INV_LN2 * x + (-0.5 if negative else 0.5))  # truncation, as C's (int)
            t = float(k)
            hi = x - t * LN2_HI  # exact
            lo = t * LN2_LO
        x = hi - lo
        c = (hi - x) - lo
    elif hx < 0x3C900000:  # |x| < 2^-54
        return x
    else:
        k = 0
    hfx = 0.5 * x
    hxs = x * hfx
    r1 = 1.0 + hxs * (Q1 + hxs * (Q2 + hxs * (Q3 + hxs * (Q4 + hxs * Q5))))
    t = 3.0 - r1 * hfx
    e = hxs * ((r1 - t) / (6.0 - x * t))
    if k == 0:
        return x - (x * e - hxs)
    e = x * (e - c) - c
    e -= hxs
    if k == -1:
        return 0.5 * (x - e) - 0.5
    if k == 1:
        if x < -0.25:
            return -2.0 * (e - (x + 0.5))
        return 1.0 + 2.0 * (x - e)
    if k <= -2 or k > 56:  # e^x = y 2^k, minus 1
        y = 1.0 - (e - x)
        if k == 1024:
            return y * 2.0 * pow2(1023) - 1.0
        return y * pow2(k) - 1.0
    if k < 20:
        y = (1.0 - pow2(-k)) - (e - x)
    else:
        y = (x - (e + pow2(-k))) + 1.0
    return y * pow2(k)


@jit
def tanh(x):
    """tanh x (fdlibm's tanh, from expm1): +-1 beyond 22, x for |x| < 2^-55, NaN for NaN."""
    ix = high_word(x) & 0x7FFFFFFF
    if ix >= 0x7FF00000:  # inf or NaN
        if x != x:
            return x
        return 1.0 if x > 0 else -1.0
    if ix < 0x40360000:  # |x| < 22
        if ix < 0x3C800000:  # |x| < 2^-55
            return x
        if ix >= 0x3FF00000:  # |x| >= 1
            t = expm1(2.0 * abs(x))
            z = 1.0 - 2.0 / (t + 2.0)
        else:
            t = expm1(-2.0 * abs(x))
            z = -t / (t + 2.0)
    else:
        z = 1.0
    return z if x >= 0 else -z
