/*
 * c_floor.c -- plain-C speed floor for experiment E1 of nnrun.
 *
 * Higham & Higham's 2-2-3-2 network ("Deep Learning: An Introduction for
 * Applied Mathematicians", SIAM Review 2019), trained by per-sample SGD.
 *
 * Data: 10 points x_k in [0,1]^2; k = 0..4 are class A with target
 * y = [1,0], k = 5..9 are class B with target y = [0,1].
 *
 * Network: a_1 = x;  z_l = W_l a_{l-1} + b_l,  a_l = sigma(z_l),  l = 2,3,4,
 * layer widths 2-2-3-2, sigma(z) = 1/(1+exp(-z)) in every layer,
 * sigma'(z) = sigma(z)(1 - sigma(z)).
 * Initialisation: every weight and bias is 0.5 * N(0,1) (Box-Muller), drawn
 * in the order W2, W3, W4, b2, b3, b4, each row-major.
 *
 * Cost: C = (1/10) sum_k 1/2 ||a_4(x_k) - y_k||^2.
 *
 * One SGD iteration: pick k uniformly in 0..9 (with replacement), then
 *   delta_4 = sigma'(z_4) o (a_4 - y_k)
 *   delta_l = sigma'(z_l) o W_{l+1}^T delta_{l+1},   l = 3, 2
 *   W_l -= eta * delta_l a_{l-1}^T,   b_l -= eta * delta_l,   eta = 0.05
 * (all deltas are computed with the pre-step weights, then all layers step).
 * After every log_every-th iteration the full cost C is computed and stored
 * in a malloc'ed array of iterations/log_every doubles.
 *
 * Usage:  c_floor ITERATIONS LOG_EVERY SEED
 * Output: seconds=<training loop time, CLOCK_MONOTONIC> final_cost=<C after
 *         training> recorded=<number of stored costs>
 * ITERATIONS = 0 prints the cost of the initial network as final_cost.
 *
 * Build:  cc -O2 -march=native -o c_floor c_floor.c -lm
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under strict -std=c99 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define NPTS 10

static const double X1[NPTS] = {0.1, 0.3, 0.1, 0.6, 0.4, 0.6, 0.5, 0.9, 0.4, 0.7};
static const double X2[NPTS] = {0.1, 0.4, 0.5, 0.9, 0.2, 0.3, 0.6, 0.2, 0.4, 0.6};

/* Parameters: W2 is 2x2, W3 is 3x2, W4 is 2x3 (row-major). */
static double W2[2][2], W3[3][2], W4[2][3];
static double b2[2], b3[3], b4[2];

/* ---- RNG: splitmix64 ---------------------------------------------------- */
static uint64_t rng_state;

static inline uint64_t splitmix64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform double in (0,1): 53 random bits, offset by half an ulp. */
static inline double uniform01(void)
{
    return ((double)(splitmix64() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in 0..n-1 by multiply-shift on the top 32 bits. */
static inline int uniform_index(uint32_t n)
{
    return (int)(((splitmix64() >> 32) * (uint64_t)n) >> 32);
}

/* Standard normal by Box-Muller (one of the pair is used). */
static double normal01(void)
{
    double u1 = uniform01(), u2 = uniform01();
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* ---- network ------------------------------------------------------------ */
static inline double sigma(double z) { return 1.0 / (1.0 + exp(-z)); }

/* Forward pass for input (x1, x2); fills activations a2, a3, a4. */
static inline void forward(double x1, double x2, double a2[2], double a3[3], double a4[2])
{
    for (int i = 0; i < 2; i++)
        a2[i] = sigma(W2[i][0] * x1 + W2[i][1] * x2 + b2[i]);
    for (int i = 0; i < 3; i++)
        a3[i] = sigma(W3[i][0] * a2[0] + W3[i][1] * a2[1] + b3[i]);
    for (int i = 0; i < 2; i++)
        a4[i] = sigma(W4[i][0] * a3[0] + W4[i][1] * a3[1] + W4[i][2] * a3[2] + b4[i]);
}

/* C = (1/10) sum_k 1/2 ||a_4(x_k) - y_k||^2. */
static double cost(void)
{
    double a2[2], a3[3], a4[2], total = 0.0;
    for (int k = 0; k < NPTS; k++) {
        forward(X1[k], X2[k], a2, a3, a4);
        double y0 = k < 5 ? 1.0 : 0.0, y1 = 1.0 - y0;
        double e0 = a4[0] - y0, e1 = a4[1] - y1;
        total += 0.5 * (e0 * e0 + e1 * e1);
    }
    return total / NPTS;
}

/* One SGD step on sample k with step size eta. */
static inline void sgd_step(int k, double eta)
{
    double x1 = X1[k], x2 = X2[k];
    double y0 = k < 5 ? 1.0 : 0.0, y1 = 1.0 - y0;
    double a2[2], a3[3], a4[2], d2[2], d3[3], d4[2];

    forward(x1, x2, a2, a3, a4);

    /* delta_4 = sigma'(z_4) o (a_4 - y), with sigma'(z) = a (1 - a). */
    d4[0] = a4[0] * (1.0 - a4[0]) * (a4[0] - y0);
    d4[1] = a4[1] * (1.0 - a4[1]) * (a4[1] - y1);
    /* delta_3 = sigma'(z_3) o W4^T delta_4 */
    for (int j = 0; j < 3; j++)
        d3[j] = a3[j] * (1.0 - a3[j]) * (W4[0][j] * d4[0] + W4[1][j] * d4[1]);
    /* delta_2 = sigma'(z_2) o W3^T delta_3 */
    for (int j = 0; j < 2; j++)
        d2[j] = a2[j] * (1.0 - a2[j]) *
                (W3[0][j] * d3[0] + W3[1][j] * d3[1] + W3[2][j] * d3[2]);

    /* W_l -= eta delta_l a_{l-1}^T,  b_l -= eta delta_l */
    for (int i = 0; i < 2; i++) {
        W2[i][0] -= eta * d2[i] * x1;
        W2[i][1] -= eta * d2[i] * x2;
        b2[i] -= eta * d2[i];
    }
    for (int i = 0; i < 3; i++) {
        W3[i][0] -= eta * d3[i] * a2[0];
        W3[i][1] -= eta * d3[i] * a2[1];
        b3[i] -= eta * d3[i];
    }
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 3; j++)
            W4[i][j] -= eta * d4[i] * a3[j];
        b4[i] -= eta * d4[i];
    }
}

static void init_params(void)
{
    for (int i = 0; i < 2; i++) for (int j = 0; j < 2; j++) W2[i][j] = 0.5 * normal01();
    for (int i = 0; i < 3; i++) for (int j = 0; j < 2; j++) W3[i][j] = 0.5 * normal01();
    for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) W4[i][j] = 0.5 * normal01();
    for (int i = 0; i < 2; i++) b2[i] = 0.5 * normal01();
    for (int i = 0; i < 3; i++) b3[i] = 0.5 * normal01();
    for (int i = 0; i < 2; i++) b4[i] = 0.5 * normal01();
}

static long parse_long(const char *s, const char *what, long min)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min) {
        fprintf(stderr, "c_floor: bad %s '%s' (need integer >= %ld)\n", what, s, min);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s ITERATIONS LOG_EVERY SEED\n", argv[0]);
        return 2;
    }
    long iterations = parse_long(argv[1], "iterations", 0);
    long log_every = parse_long(argv[2], "log_every", 1);
    rng_state = strtoull(argv[3], NULL, 10);

    const double eta = 0.05;
    init_params();

    long n_records = iterations / log_every;
    double *records = malloc((size_t)(n_records > 0 ? n_records : 1) * sizeof *records);
    if (!records) {
        fprintf(stderr, "c_floor: cannot allocate %ld records\n", n_records);
        return 1;
    }

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long recorded = 0, countdown = log_every;
    for (long it = 0; it < iterations; it++) {
        sgd_step(uniform_index(NPTS), eta);
        if (--countdown == 0) {
            records[recorded++] = cost();
            countdown = log_every;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);

    /* Read the records back so the stores cannot be optimised away. */
    volatile double sink = 0.0;
    for (long r = 0; r < recorded; r++)
        sink += records[r];
    (void)sink;

    printf("seconds=%.6f final_cost=%.17g recorded=%ld\n", seconds, cost(), recorded);
    free(records);
    return 0;
}
