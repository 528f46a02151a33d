/*
 * pare_kernels.c: the int8 kernels of pare's RP2040 target (C99).
 * See pare_kernels.h for the conventions; each kernel names the Rust file of
 * pare's integer interpreter whose arithmetic it reproduces.
 */
#include "pare_kernels.h"

#include <string.h>

/* ---- requantization (pare_ir::quant::fixed) ------------------------------ */

/* Requantization runs once per output: its few lines are worth inlining. */
#if defined(__GNUC__) || defined(__clang__)
#define PARE_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define PARE_ALWAYS_INLINE
#endif

/* The int32 whose two's complement bits are u (a sum taken modulo 2^32). */
static int32_t pare_to_i32(uint32_t u)
{
    return u <= 0x7fffffffu ? (int32_t)u : -(int32_t)(~u) - 1;
}

/* gemmlowp's SaturatingRoundingDoublingHighMul: 2ab / 2^32 rounded to
 * nearest, ties toward +infinity; INT32_MIN * INT32_MIN saturates.
 *
 * With b >= 0 (every multiplier pare makes) that is floor((a b + 2^30) / 2^31)
 * for either sign of a b, computed here from 16-bit halves in 32-bit
 * arithmetic: a Cortex-M0+ has no 32 x 32 -> 64 multiply, and the library's
 * 64-bit one costs several times more. With a = ah 2^16 + al and
 * b = bh 2^16 + bl (al, bl unsigned halves),
 *   a b + 2^30 = 2 ah bh 2^31 + (ah bl + al bh + (al bl >> 16) + 2^14) 2^16
 *                + (al bl mod 2^16),
 * and the last term, below 2^16, cannot change the floor. */
PARE_ALWAYS_INLINE static int32_t pare_srdhm_pos(int32_t a, int32_t b)
{
    const int32_t bh = b >> 16; /* < 2^15 */
    const uint32_t bl = (uint32_t)b & 0xffffu;
    if ((uint32_t)a + 0x8000u < 0x10000u) {
        /* |a| <= 2^15 (most sums that requantize into the int8 range): a bh
         * and a bl both fit in 32 bits, and
         *   floor((a bh 2^16 + a bl + 2^30) / 2^31)
         *     = floor((a bh + floor(a bl / 2^16) + 2^14) / 2^15). */
        return (a * bh + ((a * (int32_t)bl) >> 16) + (1 << 14)) >> 15;
    } else {
        const uint32_t al = (uint32_t)a & 0xffffu;
        const int32_t ah = a >> 16; /* arithmetic: every compiler pare targets */
        const int32_t mid = ah * (int32_t)bl; /* |.| < 2^31 */
        /* < 2^31 + 2^16 + 2^14: fits in 32 unsigned bits. */
        const uint32_t rest = al * (uint32_t)bh + ((al * bl) >> 16) + (1u << 14);
        /* floor((mid + rest) / 2^15) without a 33-bit sum: |mid| <= 2^31 - 2^15,
         * so mid plus the low 15 bits of rest fits in 32 bits. */
        const int32_t low = (mid + (int32_t)(rest & 0x7fffu)) >> 15;
        const uint32_t r = (uint32_t)(2 * ah * bh) + (uint32_t)low + (rest >> 15);
        return pare_to_i32(r);
    }
}

/* Any sign of b: the reference's 64-bit formula where b < 0. */
PARE_ALWAYS_INLINE static int32_t pare_srdhm(int32_t a, int32_t b)
{
    if (b < 0) {
        int64_t ab;
        int64_t nudge;
        if (a == INT32_MIN && b == INT32_MIN) {
            return INT32_MAX;
        }
        ab = (int64_t)a * (int64_t)b;
        nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
        /* C's division truncates toward zero, as the reference's does. */
        return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
    }
    return pare_srdhm_pos(a, b);
}

/* gemmlowp's RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from
 * zero, e in [0, 31]. Right shifts of negative values are arithmetic on every
 * compiler pare targets (gcc, clang, arm-none-eabi-gcc). */
PARE_ALWAYS_INLINE static int32_t pare_rdbp(int32_t x, int32_t e)
{
    const int32_t mask = (int32_t)((1u << e) - 1u);
    const int32_t remainder = x & mask;
    /* (mask >> 1) + 1 for negative x; x >> 31 is -1 then. */
    const int32_t threshold = (mask >> 1) - (x >> 31);
    /* threshold - remainder is negative (its top bit set) when the
     * remainder exceeds the threshold: add one then. Both are in [0, 2^31). */
    return (x >> e) + (int32_t)((uint32_t)(threshold - remainder) >> 31);
}

int32_t pare_mbqm(int32_t x, int32_t multiplier, int32_t shift, int32_t rounding)
{
    if (shift < -31) {
        shift = -31;
    }
    if (shift > 30) {
        shift = 30;
    }
    if (rounding == PARE_ROUNDING_SINGLE) {
        const int32_t total = 31 - shift; /* 1..62 */
        const int64_t round = (int64_t)1 << (total - 1);
        /* |x * m| < 2^62 and round <= 2^61: no overflow. */
        const int64_t v = ((int64_t)x * (int64_t)multiplier + round) >> total;
        if (v > INT32_MAX) {
            return INT32_MAX;
        }
        if (v < INT32_MIN) {
            return INT32_MIN;
        }
        return (int32_t)v;
    } else {
        const int32_t left = shift > 0 ? shift : 0;
        const int32_t right = shift > 0 ? 0 : -shift;
        /* x * 2^left wraps modulo 2^32, as TFLite's int32 product does. */
        const int32_t shifted = pare_to_i32((uint32_t)x << left);
        return pare_rdbp(pare_srdhm(shifted, multiplier), right);
    }
}

/* clamp(zero_point + r, -128, 127), for requantized r and a zero point in
 * [-128, 127]: where the 32-bit sum wraps, r's sign says which end it
 * saturates at, as the reference's saturating add does. */
PARE_ALWAYS_INLINE static int8_t pare_clamp_code(int32_t r, int32_t zero_point)
{
    const uint32_t v = (uint32_t)r + (uint32_t)zero_point;
    if (v + 128u > 255u) {
        return (int8_t)(r < 0 ? -128 : 127);
    }
    return (int8_t)pare_to_i32(v);
}

/* pare_mbqm then the zero point and clamp, for the case every product layer
 * takes: gemmlowp rounding, no left shift, a multiplier >= 0. */
PARE_ALWAYS_INLINE static int32_t pare_is_fast_requant(int32_t rounding, int32_t multiplier,
                                                       int32_t shift)
{
    return rounding == PARE_ROUNDING_GEMMLOWP && shift <= 0 && shift >= -31 && multiplier >= 0;
}

/* pare_mbqm with its common case inlined. */
PARE_ALWAYS_INLINE static int32_t pare_mbqm_inline(int32_t x, int32_t multiplier, int32_t shift,
                                                   int32_t rounding)
{
    if (pare_is_fast_requant(rounding, multiplier, shift)) {
        return pare_rdbp(pare_srdhm_pos(x, multiplier), -shift);
    }
    return pare_mbqm(x, multiplier, shift, rounding);
}

int8_t pare_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point,
                       int32_t rounding)
{
    return pare_clamp_code(pare_mbqm_inline(acc, multiplier, shift, rounding), zero_point);
}

/* Steps the row-major multi-index idx over dims by one and returns offset
 * moved along (strides in elements); wraps to all zeros after the last. */
static int32_t pare_next_index(int32_t rank, const int32_t *dims, const int32_t *strides,
                               int32_t *idx, int32_t offset)
{
    int32_t d;
    for (d = rank - 1; d >= 0; --d) {
        idx[d] += 1;
        offset += strides[d];
        if (idx[d] < dims[d]) {
            break;
        }
        offset -= strides[d] * dims[d];
        idx[d] = 0;
    }
    return offset;
}

static int32_t pare_count(int32_t rank, const int32_t *dims)
{
    int32_t n = 1;
    int32_t d;
    for (d = 0; d < rank; ++d) {
        n *= dims[d];
    }
    return n;
}

/* ---- products ------------------------------------------------------------ */

/*
 * Convolutions and fully connected layers end in one loop: a column of inputs
 * (one output position's taps, as offset-binary bytes xu = x + 128) times the
 * weights of three output channels at once. The weights are stored for it at
 * compile time: output channels in blocks of three, each block [depth][3]
 * bytes of wu = w + 128, so the Cortex-M0+ loads every byte with an immediate
 * offset (Thumb-1 has those only for unsigned loads) and each input byte
 * loaded feeds three products. Three sums, two pointers, the input byte and a
 * product fill the eight low registers.
 *
 * With zu = z_x + 128 and K the padded depth, the reference's sum is
 *   sum_k (xu_k - zu) * (wu_k - 128)
 *     = S1 - 128 * S2 - zu * S3 + 128 * zu * K,
 * S1 = sum xu * wu (the loop), S2 = sum xu (the column's, once per position),
 * S3 = sum wu (the channel's, folded into its bias at compile time with the
 * constant term). Taps in the padding hold xu = zu and padding of the depth
 * has wu = 128: both add nothing, as the reference skips them. Sums wrap
 * modulo 2^32 like the reference's, so the result is the same bit for bit.
 */

/* GCC's reassociation regroups the sums of the loop below into trees that
 * need more registers than the core has; keep them as written. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-reassoc")
#endif

/* The loop keeps its registers to itself only as a function of its own. */
#if defined(__GNUC__) || defined(__clang__)
#define PARE_NOINLINE __attribute__((noinline))
#else
#define PARE_NOINLINE
#endif

/* One step of pare_dot3: tap k of the three channels. */
#define PARE_DOT3_TAP(k)                                                                        \
    do {                                                                                       \
        const uint32_t x = col[k];                                                             \
        a0 += x * w[3 * (k)];                                                                  \
        a1 += x * w[3 * (k) + 1];                                                              \
        a2 += x * w[3 * (k) + 2];                                                              \
    } while (0)

/* acc[j] = sum_k col[k] * w[3 k + j] for j < 3; depth a multiple of 4, > 0:
 * eight taps a step, then the four left if any. */
PARE_NOINLINE static void pare_dot3(const uint8_t *col, const uint8_t *w, int32_t depth, uint32_t *acc)
{
    uint32_t a0 = 0, a1 = 0, a2 = 0;
    const uint8_t *const end = col + (depth & ~7);
    while (col != end) {
        PARE_DOT3_TAP(0);
        PARE_DOT3_TAP(1);
        PARE_DOT3_TAP(2);
        PARE_DOT3_TAP(3);
        PARE_DOT3_TAP(4);
        PARE_DOT3_TAP(5);
        PARE_DOT3_TAP(6);
        PARE_DOT3_TAP(7);
        col += 8;
        w += 24;
    }
    if (depth & 4) {
        PARE_DOT3_TAP(0);
        PARE_DOT3_TAP(1);
        PARE_DOT3_TAP(2);
        PARE_DOT3_TAP(3);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
}

/* acc[j] = sum_k col[k] * w[t k + j] for j < t, t = 2 or 1 (the channels
 * after the last whole block); depth a multiple of 4, > 0. */
PARE_NOINLINE static void pare_dot_tail(const uint8_t *col, const uint8_t *w, int32_t depth,
                                        int32_t t, uint32_t *acc)
{
    const uint8_t *end = col + depth;
    uint32_t a0 = 0, a1 = 0;
    if (t == 2) {
        do {
            uint32_t x = col[0];
            a0 += x * w[0];
            a1 += x * w[1];
            x = col[1];
            a0 += x * w[2];
            a1 += x * w[3];
            col += 2;
            w += 4;
        } while (col != end);
    } else {
        do {
            a0 += (uint32_t)col[0] * w[0];
            a0 += (uint32_t)col[1] * w[1];
            col += 2;
            w += 2;
        } while (col != end);
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* One step of pare_dot2_s4: tap k of both channels. */
#define PARE_S4_TAP(k)                                                                          \
    do {                                                                                       \
        const uint32_t x = col[k], v = w[k];                                                   \
        b += x * (v >> 4);                                                                     \
        a += x * v;                                                                            \
    } while (0)

/* Two channels of 4-bit weights, w + 8 in the low (first channel) and high
 * nibble of each byte: with v = lo + 16 hi, x v = x lo + 16 x hi, so one
 * product serves both channels: acc[1] = sum x hi, acc[0] = sum x v - 16 acc[1].
 * depth a multiple of 8, > 0. */
PARE_NOINLINE static void pare_dot2_s4(const uint8_t *col, const uint8_t *w, int32_t depth,
                                       uint32_t *acc)
{
    uint32_t a = 0, b = 0;
    const uint8_t *end = col + depth;
    do {
        PARE_S4_TAP(0);
        PARE_S4_TAP(1);
        PARE_S4_TAP(2);
        PARE_S4_TAP(3);
        PARE_S4_TAP(4);
        PARE_S4_TAP(5);
        PARE_S4_TAP(6);
        PARE_S4_TAP(7);
        col += 8;
        w += 8;
    } while (col != end);
    acc[0] = a - 16u * b;
    acc[1] = b;
}

/* Requantizes the sums of n channels from `oc` on: out[j * stride]. The
 * parameters are read into locals, which stores through out cannot alias;
 * layers whose every channel takes pare_requantize's common case (pare checks
 * at compile time: p->fast) run a loop without the per-output tests. */
static int8_t *pare_store(const pare_product *p, const uint32_t *acc, int32_t n, int32_t oc,
                          uint32_t offset, int8_t *out, int32_t stride)
{
    const int32_t *q = p->channels + 3 * oc; /* bias', multiplier, shift */
    const int32_t zero_point = p->out_zero_point;
    const uint32_t *const end = acc + n;
    if (p->fast) {
        do {
            const int32_t sum = pare_to_i32((uint32_t)q[0] + *acc++ + offset);
            const int32_t h = pare_srdhm_pos(sum, q[1]);
            *out = pare_clamp_code(pare_rdbp(h, -q[2]), zero_point);
            out += stride;
            q += 3;
        } while (acc != end);
    } else {
        do {
            const int32_t sum = pare_to_i32((uint32_t)q[0] + *acc++ + offset);
            *out = pare_requantize(sum, q[1], q[2], zero_point, p->rounding);
            out += stride;
            q += 3;
        } while (acc != end);
    }
    return out;
}

/* Every output channel of one column: out[c * stride] for c < channels, the
 * channels' weights in whole blocks of three, then one block of the rest. */
static void pare_column(const pare_product *p, const uint8_t *col, uint32_t col_sum,
                        int32_t first_channel, int32_t channels, int8_t *out, int32_t stride)
{
    /* Sums of up to PARE_BATCH channels are requantized by one pare_store
     * call, which amortizes its set-up over them. */
    enum { PARE_BATCH = 18 };
    const uint8_t *w = p->weights;
    const int32_t depth = p->depth;
    uint32_t acc[PARE_BATCH];
    int32_t c = 0, n = 0, first = first_channel;
    if (p->bits == 4) {
        /* Weights offset by 8, not 128: -8 * S2. */
        const uint32_t offset = 0u - 8u * col_sum;
        for (; c < channels; c += 2) {
            pare_dot2_s4(col, w, depth, acc + n);
            w += depth;
            n += channels - c < 2 ? 1 : 2;
            if (n + 2 > PARE_BATCH || c + 2 >= channels) {
                out = pare_store(p, acc, n, first, offset, out, stride);
                first += n;
                n = 0;
            }
        }
    } else {
        const uint32_t offset = 0u - 128u * col_sum; /* -128 * S2 */
        for (; c + 3 <= channels; c += 3) {
            pare_dot3(col, w, depth, acc + n);
            w += 3 * depth;
            n += 3;
            if (n + 3 > PARE_BATCH) {
                out = pare_store(p, acc, n, first, offset, out, stride);
                first += n;
                n = 0;
            }
        }
        if (c < channels) {
            pare_dot_tail(col, w, depth, channels - c, acc + n);
            n += channels - c;
        }
        if (n > 0) {
            pare_store(p, acc, n, first, offset, out, stride);
        }
    }
}

/* ---- convolution (pare_ir::interp::int::conv) ---------------------------- */

/* n bytes of x, one every `stride`, as offset-binary into col; returns their
 * sum (S2's share). */
static uint32_t pare_gather_column(const uint8_t *x, int32_t stride, int32_t n, uint8_t *col)
{
    uint32_t sum = 0;
    const int32_t stride2 = 2 * stride;
    for (; n >= 2; n -= 2) {
        const uint32_t u0 = *x ^ 0x80u;
        const uint32_t u1 = x[stride] ^ 0x80u;
        col[0] = (uint8_t)u0;
        col[1] = (uint8_t)u1;
        sum += u0 + u1;
        x += stride2;
        col += 2;
    }
    if (n > 0) {
        const uint32_t u = *x ^ 0x80u;
        *col = (uint8_t)u;
        sum += u;
    }
    return sum;
}

/* n bytes of v: memset without a call for the one to a few bytes padding
 * usually needs. */
static void pare_fill(uint8_t *p, uint8_t v, int32_t n)
{
    if (n > 16) {
        memset(p, v, (size_t)n);
        return;
    }
    while (n-- > 0) {
        *p++ = v;
    }
}

/* The column of output position (oy, ox) for one group (cg input channels at
 * x): its taps in the weights' order [kernel row][kernel column][channel],
 * taps in the padding as zu, the depth's padding as 0. Returns S2. */
static uint32_t pare_im2col(const pare_conv2d_params *p, const int8_t *x, int32_t cg, int32_t oy,
                            int32_t ox, uint8_t *col)
{
    const int32_t in_h = p->in_h, in_w = p->in_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w;
    const int32_t dh = p->dilation_h, dw = p->dilation_w;
    const int32_t plane = in_h * in_w;
    const int32_t y0 = oy * p->stride_h - p->pad_top;
    const int32_t x0 = ox * p->stride_w - p->pad_left;
    const uint8_t zu = (uint8_t)(p->in_zero_point + 128);
    const int32_t depth = p->product.depth;
    uint8_t *const start = col;
    uint32_t sum = 0;
    int32_t ky, kx;
    for (ky = 0; ky < kh; ++ky) {
        const int32_t iy = y0 + ky * dh;
        for (kx = 0; kx < kw; ++kx) {
            const int32_t ix = x0 + kx * dw;
            const int32_t inside = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
            if (cg == 1) {
                /* One channel (a first layer): a byte, no call. */
                const uint32_t u = inside ? ((const uint8_t *)x)[iy * in_w + ix] ^ 0x80u : zu;
                *col = (uint8_t)u;
                sum += u;
            } else if (inside) {
                sum += pare_gather_column((const uint8_t *)x + iy * in_w + ix, plane, cg, col);
            } else {
                pare_fill(col, zu, cg);
                sum += (uint32_t)cg * zu;
            }
            col += cg;
        }
    }
    pare_fill(col, 0, depth - (int32_t)(col - start));
    return sum;
}

void pare_conv2d(const pare_conv2d_params *p, const int8_t *in, int8_t *out, uint8_t *scratch)
{
    const int32_t plane_in = p->in_h * p->in_w;
    const int32_t plane_out = p->out_h * p->out_w;
    const int32_t cg = p->in_c / p->groups;
    const int32_t mg = p->out_c / p->groups;
    /* Weight bytes of one group: a byte a channel and tap, or half that. */
    const int32_t group_weights =
        (p->product.bits == 4 ? (mg + 1) / 2 : mg) * p->product.depth;
    pare_product group = p->product;
    int32_t g, oy, ox;
    for (g = 0; g < p->groups; ++g) {
        const int8_t *x = in + g * cg * plane_in;
        int8_t *o = out + g * mg * plane_out;
        group.weights = p->product.weights + g * group_weights;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                const uint32_t sum = pare_im2col(p, x, cg, oy, ox, scratch);
                pare_column(&group, scratch, sum, g * mg, mg, o++, plane_out);
            }
        }
    }
}

/*
 * Depthwise: each channel's plane is copied once as offset-binary bytes into
 * a padded plane (scratch), so every tap is in bounds; two outputs of a row
 * share each weight (int32 in flash: one load, no sign extension).
 * acc = bias' + sum xu * w, bias' = bias - zu * sum w.
 */
static void pare_pad_plane(const pare_depthwise_params *p, const int8_t *x, uint8_t *pad)
{
    const int32_t in_h = p->in_h, in_w = p->in_w;
    const int32_t pad_h = p->pad_h, pad_w = p->pad_w;
    const int32_t top = p->pad_top, left = p->pad_left;
    const uint8_t zu = (uint8_t)(p->in_zero_point + 128);
    /* Columns of the padded plane inside the input: [lo, hi). */
    const int32_t lo = left < 0 ? 0 : (left > pad_w ? pad_w : left);
    int32_t hi = left + in_w;
    int32_t py;
    if (hi > pad_w) {
        hi = pad_w;
    }
    if (hi < lo) {
        hi = lo;
    }
    for (py = 0; py < pad_h; ++py) {
        const int32_t iy = py - top;
        if (iy < 0 || iy >= in_h) {
            pare_fill(pad, zu, pad_w);
        } else {
            pare_fill(pad, zu, lo);
            (void)pare_gather_column((const uint8_t *)x + iy * in_w + (lo - left), 1, hi - lo,
                                     pad + lo);
            pare_fill(pad + hi, zu, pad_w - hi);
        }
        pad += pad_w;
    }
}

/* The taps of two outputs (at r and r2 in the padded plane) for kernels
 * three or five wide with dilation 1, one kernel row a step; w ends at wend. */
#define PARE_DW_TAP(k)                                                                          \
    do {                                                                                       \
        const int32_t wv = w[k];                                                               \
        a0 += (uint32_t)(r[k] * wv);                                                           \
        a1 += (uint32_t)(r2[k] * wv);                                                          \
    } while (0)

PARE_NOINLINE static void pare_dw_pair3(const uint8_t *r, const uint8_t *r2, int32_t row_step,
                                        const int32_t *w, const int32_t *wend, uint32_t *acc)
{
    uint32_t a0 = acc[0], a1 = acc[1];
    do {
        PARE_DW_TAP(0);
        PARE_DW_TAP(1);
        PARE_DW_TAP(2);
        r += row_step;
        r2 += row_step;
        w += 3;
    } while (w != wend);
    acc[0] = a0;
    acc[1] = a1;
}

PARE_NOINLINE static void pare_dw_pair5(const uint8_t *r, const uint8_t *r2, int32_t row_step,
                                        const int32_t *w, const int32_t *wend, uint32_t *acc)
{
    uint32_t a0 = acc[0], a1 = acc[1];
    do {
        PARE_DW_TAP(0);
        PARE_DW_TAP(1);
        PARE_DW_TAP(2);
        PARE_DW_TAP(3);
        PARE_DW_TAP(4);
        r += row_step;
        r2 += row_step;
        w += 5;
    } while (w != wend);
    acc[0] = a0;
    acc[1] = a1;
}

/* Any kernel width and dilation. */
static void pare_dw_pair(const pare_depthwise_params *p, const uint8_t *r, const uint8_t *r2,
                         const int32_t *w, uint32_t *acc)
{
    const int32_t kw = p->kernel_w, dw = p->dilation_w;
    const int32_t row_step = p->dilation_h * p->pad_w;
    int32_t ky, kx;
    for (ky = 0; ky < p->kernel_h; ++ky) {
        for (kx = 0; kx < kw; ++kx) {
            acc[0] += (uint32_t)(r[kx * dw] * *w);
            acc[1] += (uint32_t)(r2[kx * dw] * *w);
            ++w;
        }
        r += row_step;
        r2 += row_step;
    }
}

/* The sums of one output row (bias included) into acc[out_w]: two outputs a
 * call of the inner loop; past the row's end the second repeats the first. */
static void pare_dw_row(const pare_depthwise_params *p, const uint8_t *row, const int32_t *w,
                        uint32_t bias, uint32_t *acc)
{
    const int32_t out_w = p->out_w, stride_w = p->stride_w;
    const int32_t row_step = p->dilation_h * p->pad_w;
    const int32_t taps = p->kernel_h * p->kernel_w;
    const int32_t width = p->dilation_w == 1 ? p->kernel_w : 0; /* 3 or 5: a fast path */
    int32_t ox;
    for (ox = 0; ox < out_w; ox += 2) {
        const uint8_t *r = row + ox * stride_w;
        const uint8_t *r2 = ox + 1 < out_w ? r + stride_w : r;
        uint32_t pair[2];
        pair[0] = bias;
        pair[1] = bias;
        if (width == 3) {
            pare_dw_pair3(r, r2, row_step, w, w + taps, pair);
        } else if (width == 5) {
            pare_dw_pair5(r, r2, row_step, w, w + taps, pair);
        } else {
            pare_dw_pair(p, r, r2, w, pair);
        }
        acc[ox] = pair[0];
        if (ox + 1 < out_w) {
            acc[ox + 1] = pair[1];
        }
    }
}

/* Channel c of a depthwise conv with taps w: its plane padded into scratch,
 * its row sums into acc, its outputs (out_h * out_w of them) into out. */
static void pare_dw_channel(const pare_depthwise_params *p, int32_t c, const int32_t *w,
                            const int8_t *in, int8_t *out, uint8_t *scratch, uint32_t *acc)
{
    const int32_t out_h = p->out_h, out_w = p->out_w;
    const int32_t zero_point = p->out_zero_point;
    const int32_t rounding = p->rounding;
    const uint32_t bias = (uint32_t)p->bias[c];
    const int32_t m = p->multiplier[c];
    const int32_t s = p->shift[c];
    const int32_t fast = pare_is_fast_requant(rounding, m, s);
    int32_t oy, ox;
    pare_pad_plane(p, in + c * p->in_h * p->in_w, scratch);
    for (oy = 0; oy < out_h; ++oy) {
        pare_dw_row(p, scratch + oy * p->stride_h * p->pad_w, w, bias, acc);
        if (fast) {
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t h = pare_srdhm_pos(pare_to_i32(acc[ox]), m);
                *out++ = pare_clamp_code(pare_rdbp(h, -s), zero_point);
            }
        } else {
            for (ox = 0; ox < out_w; ++ox) {
                *out++ = pare_requantize(pare_to_i32(acc[ox]), m, s, zero_point, rounding);
            }
        }
    }
}

/* scratch: the padded plane, then (4-byte aligned) one row of int32 sums. */
void pare_depthwise_conv2d(const pare_depthwise_params *p, const int8_t *in, int8_t *out,
                           uint8_t *scratch)
{
    const int32_t taps = p->kernel_h * p->kernel_w;
    const int32_t plane_bytes = (p->pad_h * p->pad_w + 3) / 4 * 4;
    uint32_t *const acc = (uint32_t *)(void *)(scratch + plane_bytes);
    int32_t c;
    for (c = 0; c < p->channels; ++c) {
        pare_dw_channel(p, c, p->weights + c * taps, in, out + c * p->out_h * p->out_w,
                        scratch, acc);
    }
}

/* ---- transposed convolution (pare_ir::interp::int::conv_transpose) ------- */

/* The reference scatters each input into the outputs; this gathers, for each
 * output, the (input, tap) pairs with i * stride + k * dilation - pad = o:
 * the same terms, summed modulo 2^32 in another order. */
void pare_conv_transpose2d(const pare_conv_transpose2d_params *p, const int8_t *in, int8_t *out)
{
    const int32_t in_plane = p->in_h * p->in_w;
    const int32_t cg = p->in_c / p->groups;
    const int32_t mg = p->out_c / p->groups;
    const int32_t taps = p->kernel_h * p->kernel_w;
    int32_t oc, oy, ox, ci, ky, kx;
    for (oc = 0; oc < p->out_c; ++oc) {
        const int32_t group = oc / mg;
        const int32_t j = oc % mg; /* the channel within its group */
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                uint32_t acc = p->bias != NULL ? (uint32_t)p->bias[oc] : 0u;
                for (ci = group * cg; ci < (group + 1) * cg; ++ci) {
                    const int8_t *x_c = in + ci * in_plane;
                    const int8_t *w = p->weights + (ci * mg + j) * taps;
                    for (ky = 0; ky < p->kernel_h; ++ky) {
                        const int32_t ty = oy + p->pad_top - ky * p->dilation_h;
                        int32_t iy;
                        if (ty < 0 || ty % p->stride_h != 0) {
                            continue;
                        }
                        iy = ty / p->stride_h;
                        if (iy >= p->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < p->kernel_w; ++kx) {
                            const int32_t tx = ox + p->pad_left - kx * p->dilation_w;
                            int32_t ix;
                            if (tx < 0 || tx % p->stride_w != 0) {
                                continue;
                            }
                            ix = tx / p->stride_w;
                            if (ix >= p->in_w) {
                                continue;
                            }
                            acc += (uint32_t)((x_c[iy * p->in_w + ix] - p->in_zero_point) *
                                              w[ky * p->kernel_w + kx]);
                        }
                    }
                }
                *out++ = pare_requantize(pare_to_i32(acc), p->multiplier[oc], p->shift[oc],
                                         p->out_zero_point, p->rounding);
            }
        }
    }
}

/* ---- matrix products (pare_ir::interp::int::matmul) ---------------------- */

/* Each row becomes one offset-binary column (scratch), then one product. */
void pare_fully_connected(const pare_fully_connected_params *p, const int8_t *in, int8_t *out,
                          uint8_t *scratch)
{
    int32_t r, d;
    for (r = 0; r < p->rows; ++r) {
        const uint32_t sum =
            pare_gather_column((const uint8_t *)(in + r * p->depth), 1, p->depth, scratch);
        for (d = p->depth; d < p->product.depth; ++d) {
            scratch[d] = 0;
        }
        pare_column(&p->product, scratch, sum, 0, p->units, out, 1);
        out += p->units;
    }
}

/* ---- sparse products (PARE_SPARSE weights) ------------------------------ */

/*
 * The same sums as pare_conv2d and pare_fully_connected, from weights stored
 * as pare_kernels.h's PARE_SPARSE stream: per chunk of eight taps a mask byte
 * then the chunk's non-zero int8 weights. A zero weight costs one bit test
 * (two instructions); a non-zero one a signed load, an immediate-offset load
 * of its column byte, a multiply and an add. The column is offset-binary as
 * for dense weights and the records' bias' = bias - zu * sum(w) is the same, so
 * the sum is bias' + sum over the non-zeros xu_k * w_k (modulo 2^32).
 */

/* One tap of pare_sparse_dot: where bit j of the chunk's mask is set, the next
 * non-zero weight times col[j]. (The bit is tested as the sign of a left shift:
 * one shift and a branch on the Cortex-M0+.) */
#define PARE_SPARSE_TAP(j)                                                                      \
    do {                                                                                       \
        if ((m << (31 - (j))) & 0x80000000u) {                                                 \
            a += (uint32_t)(col[j] * w[k]);                                                    \
            ++k;                                                                               \
        }                                                                                      \
    } while (0)

/* One chunk of eight taps: its mask at w[0], its weights after; w and col
 * step past it. */
#define PARE_SPARSE_CHUNK()                                                                     \
    do {                                                                                       \
        const uint32_t m = (uint8_t)w[0];                                                      \
        int32_t k = 1;                                                                         \
        PARE_SPARSE_TAP(0);                                                                    \
        PARE_SPARSE_TAP(1);                                                                    \
        PARE_SPARSE_TAP(2);                                                                    \
        PARE_SPARSE_TAP(3);                                                                    \
        PARE_SPARSE_TAP(4);                                                                    \
        PARE_SPARSE_TAP(5);                                                                    \
        PARE_SPARSE_TAP(6);                                                                    \
        PARE_SPARSE_TAP(7);                                                                    \
        w += k;                                                                                \
        col += 8;                                                                              \
    } while (0)

/* *acc = sum of col[k] * w_k over one channel's non-zero weights (its stream
 * at w, `chunks` > 0 chunks), two chunks a step; returns where the next
 * channel's stream starts. */
PARE_NOINLINE static const int8_t *pare_sparse_dot(const uint8_t *col, int32_t chunks,
                                                   const int8_t *w, uint32_t *acc)
{
    uint32_t a = 0;
    const uint8_t *const end = col + 8 * (chunks & ~1);
    while (col != end) {
        PARE_SPARSE_CHUNK();
        PARE_SPARSE_CHUNK();
    }
    if (chunks & 1) {
        PARE_SPARSE_CHUNK();
    }
    *acc = a;
    return w;
}

/* The stream after `channels` channels of `chunks` chunks from w: where a
 * conv's next group starts. */
static const uint8_t *pare_sparse_skip(const uint8_t *w, int32_t channels, int32_t chunks)
{
    int32_t n = channels * chunks;
    while (n-- > 0) {
        uint32_t m = *w++;
        while (m != 0) {
            m &= m - 1u; /* one weight a set bit */
            ++w;
        }
    }
    return w;
}

/* Every output channel of one column (pare_column's job for sparse weights):
 * out[c * stride] for c < channels. */
static void pare_sparse_column(const pare_product *p, const uint8_t *col, int32_t first_channel,
                               int32_t channels, int8_t *out, int32_t stride)
{
    enum { PARE_BATCH = 18 };
    const int8_t *w = (const int8_t *)p->weights;
    const int32_t chunks = (p->depth + 7) >> 3;
    uint32_t acc[PARE_BATCH];
    int32_t c, n = 0, first = first_channel;
    for (c = 0; c < channels; ++c) {
        w = pare_sparse_dot(col, chunks, w, acc + n);
        n += 1;
        if (n == PARE_BATCH || c + 1 == channels) {
            out = pare_store(p, acc, n, first, 0u, out, stride);
            first += n;
            n = 0;
        }
    }
}

/* Sums of up to PARE_SPARSE_BATCH channels are requantized by one pare_store. */
enum { PARE_SPARSE_BATCH = 18 };

/* One tap of pare_sparse_dot3: where bit j is set, the next non-zero weight
 * (one signed load) times tap j of three output positions (col[3 j + t]). */
#define PARE_SPARSE3_TAP(j)                                                                     \
    do {                                                                                       \
        if ((m << (31 - (j))) & 0x80000000u) {                                                 \
            const int32_t v = *w++;                                                            \
            a0 += (uint32_t)(col[3 * (j)] * v);                                                \
            a1 += (uint32_t)(col[3 * (j) + 1] * v);                                            \
            a2 += (uint32_t)(col[3 * (j) + 2] * v);                                            \
        }                                                                                      \
    } while (0)

/* pare_sparse_dot for three output positions at once, their columns
 * interleaved (tap k of position t at col[3 k + t]): each mask test and weight
 * load serves three products. Sums into acc[0], acc[PARE_SPARSE_BATCH],
 * acc[2 PARE_SPARSE_BATCH]; returns the next channel's stream. chunks > 0. */
PARE_NOINLINE static const int8_t *pare_sparse_dot3(const uint8_t *col, int32_t chunks,
                                                    const int8_t *w, uint32_t *acc)
{
    uint32_t a0 = 0, a1 = 0, a2 = 0;
    do {
        const uint32_t m = (uint8_t)*w++;
        PARE_SPARSE3_TAP(0);
        PARE_SPARSE3_TAP(1);
        PARE_SPARSE3_TAP(2);
        PARE_SPARSE3_TAP(3);
        PARE_SPARSE3_TAP(4);
        PARE_SPARSE3_TAP(5);
        PARE_SPARSE3_TAP(6);
        PARE_SPARSE3_TAP(7);
        col += 24;
    } while (--chunks != 0);
    acc[0] = a0;
    acc[PARE_SPARSE_BATCH] = a1;
    acc[2 * PARE_SPARSE_BATCH] = a2;
    return w;
}

/* n bytes of x, one every `stride`, as offset-binary into every third byte of
 * col (pare_gather_column for interleaved columns). */
PARE_NOINLINE static void pare_gather3(const uint8_t *x, int32_t stride, int32_t n, uint8_t *col)
{
    const int32_t stride2 = 2 * stride;
    for (; n >= 2; n -= 2) {
        col[0] = (uint8_t)(*x ^ 0x80u);
        col[3] = (uint8_t)(x[stride] ^ 0x80u);
        x += stride2;
        col += 6;
    }
    if (n > 0) {
        *col = (uint8_t)(*x ^ 0x80u);
    }
}

/* pare_im2col's taps of output position (oy, ox) as every third byte of col
 * (col[3 k], k < the real depth; the depth's padding is never read). */
PARE_NOINLINE static void pare_im2col3(const pare_conv2d_params *p, const int8_t *x, int32_t cg,
                                       int32_t oy, int32_t ox, uint8_t *col)
{
    const int32_t in_h = p->in_h, in_w = p->in_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w;
    const int32_t dh = p->dilation_h, dw = p->dilation_w;
    const int32_t plane = in_h * in_w;
    const int32_t y0 = oy * p->stride_h - p->pad_top;
    const int32_t x0 = ox * p->stride_w - p->pad_left;
    const uint8_t zu = (uint8_t)(p->in_zero_point + 128);
    const int32_t step = 3 * cg;
    int32_t ky, kx, c;
    for (ky = 0; ky < kh; ++ky) {
        const int32_t iy = y0 + ky * dh;
        for (kx = 0; kx < kw; ++kx) {
            const int32_t ix = x0 + kx * dw;
            if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) {
                pare_gather3((const uint8_t *)x + iy * in_w + ix, plane, cg, col);
            } else {
                for (c = 0; c < step; c += 3) {
                    col[c] = zu;
                }
            }
            col += step;
        }
    }
}

/* Every output channel at three output positions (`valid` of them real: the
 * others repeat the last column and are not stored): out[t + c * stride]. */
static void pare_sparse_column3(const pare_product *p, const uint8_t *col, int32_t first_channel,
                                int32_t channels, int32_t valid, int8_t *out, int32_t stride)
{
    const int8_t *w = (const int8_t *)p->weights;
    const int32_t chunks = (p->depth + 7) >> 3;
    uint32_t acc[3 * PARE_SPARSE_BATCH];
    int32_t c, t, n = 0, first = first_channel;
    for (c = 0; c < channels; ++c) {
        w = pare_sparse_dot3(col, chunks, w, acc + n);
        n += 1;
        if (n == PARE_SPARSE_BATCH || c + 1 == channels) {
            for (t = 0; t < valid; ++t) {
                (void)pare_store(p, acc + t * PARE_SPARSE_BATCH, n, first, 0u, out + t, stride);
            }
            out += n * stride;
            first += n;
            n = 0;
        }
    }
}

/* Output positions three at a time (row-major over out_h x out_w), their
 * columns interleaved in scratch (3 * product.depth bytes). */
void pare_conv2d_sparse(const pare_conv2d_params *p, const int8_t *in, int8_t *out,
                        uint8_t *scratch)
{
    const int32_t plane_in = p->in_h * p->in_w;
    const int32_t plane_out = p->out_h * p->out_w;
    const int32_t cg = p->in_c / p->groups;
    const int32_t mg = p->out_c / p->groups;
    pare_product group = p->product;
    int32_t g, pos, t;
    for (g = 0; g < p->groups; ++g) {
        const int8_t *x = in + g * cg * plane_in;
        int8_t *o = out + g * mg * plane_out;
        int32_t oy = 0, ox = 0;
        if (g > 0) {
            group.weights = pare_sparse_skip(group.weights, mg, (p->product.depth + 7) >> 3);
        }
        for (pos = 0; pos < plane_out; pos += 3) {
            const int32_t valid = plane_out - pos < 3 ? plane_out - pos : 3;
            for (t = 0; t < 3; ++t) {
                pare_im2col3(p, x, cg, oy, ox, scratch + t);
                if (t + 1 < valid) {
                    if (++ox == p->out_w) {
                        ox = 0;
                        ++oy;
                    }
                }
            }
            if (++ox == p->out_w) {
                ox = 0;
                ++oy;
            }
            pare_sparse_column3(&group, scratch, g * mg, mg, valid, o + pos, plane_out);
        }
    }
}

void pare_fully_connected_sparse(const pare_fully_connected_params *p, const int8_t *in,
                                 int8_t *out, uint8_t *scratch)
{
    int32_t r;
    for (r = 0; r < p->rows; ++r) {
        /* Only the taps the masks name are read: no padding to write. */
        (void)pare_gather_column((const uint8_t *)(in + r * p->depth), 1, p->depth, scratch);
        pare_sparse_column(&p->product, scratch, 0, p->units, out, 1);
        out += p->units;
    }
}

/* ---- palette products (PARE_PALETTE weights) ---------------------------- */

/*
 * The same sums as the sparse kernels, from weights stored as pare_kernels.h's
 * palette: each tap's index (8, 4 or 2 bits: a byte gives one, two or four of
 * them with a mask and a shift; other widths come out of a bit buffer refilled
 * a byte at a time) selects the channel's codebook entry, one signed load with
 * a register offset on the Cortex-M0+. The column is offset-binary and the
 * records' bias' = bias - zu * sum(w), so the sum is bias' + sum xu_k * w_k
 * (modulo 2^32); the depth's padding has xu = 0.
 */

/* One tap of pare_palette_dot: column byte j times the entry index v names. */
#define PARE_PALETTE_TAP(j, v) (a += (uint32_t)(col[j] * book[v]))

/* The sum of col[k] * book[index k] over `depth` taps (a multiple of 4, > 0)
 * whose indices, `bits` wide, start at w. */
PARE_NOINLINE static uint32_t pare_palette_dot(const uint8_t *col, const uint8_t *w,
                                               const int8_t *book, int32_t depth, int32_t bits)
{
    const uint8_t *const end = col + depth;
    uint32_t a = 0;
    if (bits == 8) {
        do {
            PARE_PALETTE_TAP(0, w[0]);
            PARE_PALETTE_TAP(1, w[1]);
            PARE_PALETTE_TAP(2, w[2]);
            PARE_PALETTE_TAP(3, w[3]);
            col += 4;
            w += 4;
        } while (col != end);
    } else if (bits == 4) {
        do {
            const uint32_t v0 = w[0], v1 = w[1];
            PARE_PALETTE_TAP(0, v0 & 15u);
            PARE_PALETTE_TAP(1, v0 >> 4);
            PARE_PALETTE_TAP(2, v1 & 15u);
            PARE_PALETTE_TAP(3, v1 >> 4);
            col += 4;
            w += 2;
        } while (col != end);
    } else if (bits == 2) {
        do {
            const uint32_t v = *w++;
            PARE_PALETTE_TAP(0, v & 3u);
            PARE_PALETTE_TAP(1, (v >> 2) & 3u);
            PARE_PALETTE_TAP(2, (v >> 4) & 3u);
            PARE_PALETTE_TAP(3, v >> 6);
            col += 4;
        } while (col != end);
    } else {
        /* buf holds `have` bits not yet used (fewer than 8 + bits). */
        const uint32_t width = (uint32_t)bits, mask = (1u << width) - 1u;
        uint32_t buf = 0, have = 0;
        do {
            if (have < width) {
                buf |= (uint32_t)*w++ << have;
                have += 8;
            }
            PARE_PALETTE_TAP(0, buf & mask);
            buf >>= width;
            have -= width;
            ++col;
        } while (col != end);
    }
    return a;
}

/* Every output channel of one column (pare_column's job for palette weights):
 * out[c * stride] for c < channels; p->palette.indices at first_channel's. */
static void pare_palette_column(const pare_product *p, const uint8_t *col, int32_t first_channel,
                                int32_t channels, int8_t *out, int32_t stride)
{
    enum { PARE_BATCH = 18 };
    const pare_palette *pal = &p->palette;
    const int32_t depth = p->depth, bits = pal->bits;
    const int32_t row = (depth * bits + 7) >> 3;
    const uint8_t *w = pal->indices;
    /* The codebook of first_channel, and how many channels it still serves. */
    const int32_t book = first_channel / pal->book_channels;
    const int8_t *cb = pal->codebooks + book * pal->book_size;
    int32_t left = pal->book_channels * (book + 1) - first_channel;
    uint32_t acc[PARE_BATCH];
    int32_t c, n = 0, first = first_channel;
    for (c = 0; c < channels; ++c) {
        acc[n++] = pare_palette_dot(col, w, cb, depth, bits);
        w += row;
        if (--left == 0) {
            cb += pal->book_size;
            left = pal->book_channels;
        }
        if (n == PARE_BATCH || c + 1 == channels) {
            out = pare_store(p, acc, n, first, 0u, out, stride);
            first += n;
            n = 0;
        }
    }
}

/* One tap of pare_palette_dot3: the entry index v names, one signed load,
 * times tap j of three output positions (col[3 j + t]). */
#define PARE_PALETTE3_TAP(j, v)                                                                 \
    do {                                                                                       \
        const int32_t wv = book[v];                                                            \
        a0 += (uint32_t)(col[3 * (j)] * wv);                                                   \
        a1 += (uint32_t)(col[3 * (j) + 1] * wv);                                               \
        a2 += (uint32_t)(col[3 * (j) + 2] * wv);                                               \
    } while (0)

/* pare_palette_dot for three output positions at once, their columns
 * interleaved (tap k of position t at col[3 k + t]): each index decoded and
 * entry loaded serves three products. Sums into acc[0],
 * acc[PARE_SPARSE_BATCH], acc[2 PARE_SPARSE_BATCH]. depth a multiple of 4, > 0. */
PARE_NOINLINE static void pare_palette_dot3(const uint8_t *col, const uint8_t *w,
                                            const int8_t *book, int32_t depth, int32_t bits,
                                            uint32_t *acc)
{
    const uint8_t *const end = col + 3 * depth;
    uint32_t a0 = 0, a1 = 0, a2 = 0;
    if (bits == 8) {
        do {
            PARE_PALETTE3_TAP(0, w[0]);
            PARE_PALETTE3_TAP(1, w[1]);
            col += 6;
            w += 2;
        } while (col != end);
    } else if (bits == 4) {
        do {
            const uint32_t v = *w++;
            PARE_PALETTE3_TAP(0, v & 15u);
            PARE_PALETTE3_TAP(1, v >> 4);
            col += 6;
        } while (col != end);
    } else if (bits == 2) {
        do {
            const uint32_t v = *w++;
            PARE_PALETTE3_TAP(0, v & 3u);
            PARE_PALETTE3_TAP(1, (v >> 2) & 3u);
            PARE_PALETTE3_TAP(2, (v >> 4) & 3u);
            PARE_PALETTE3_TAP(3, v >> 6);
            col += 12;
        } while (col != end);
    } else {
        const uint32_t width = (uint32_t)bits, mask = (1u << width) - 1u;
        uint32_t buf = 0, have = 0;
        do {
            if (have < width) {
                buf |= (uint32_t)*w++ << have;
                have += 8;
            }
            PARE_PALETTE3_TAP(0, buf & mask);
            buf >>= width;
            have -= width;
            col += 3;
        } while (col != end);
    }
    acc[0] = a0;
    acc[PARE_SPARSE_BATCH] = a1;
    acc[2 * PARE_SPARSE_BATCH] = a2;
}

/* Every output channel at three output positions (`valid` of them real: the
 * others repeat the last column and are not stored): out[t + c * stride];
 * p->palette.indices at first_channel's. */
static void pare_palette_column3(const pare_product *p, const uint8_t *col, int32_t first_channel,
                                 int32_t channels, int32_t valid, int8_t *out, int32_t stride)
{
    const pare_palette *pal = &p->palette;
    const int32_t depth = p->depth, bits = pal->bits;
    const int32_t row = (depth * bits + 7) >> 3;
    const uint8_t *w = pal->indices;
    const int32_t book = first_channel / pal->book_channels;
    const int8_t *cb = pal->codebooks + book * pal->book_size;
    int32_t left = pal->book_channels * (book + 1) - first_channel;
    uint32_t acc[3 * PARE_SPARSE_BATCH];
    int32_t c, t, n = 0, first = first_channel;
    for (c = 0; c < channels; ++c) {
        pare_palette_dot3(col, w, cb, depth, bits, acc + n);
        w += row;
        if (--left == 0) {
            cb += pal->book_size;
            left = pal->book_channels;
        }
        n += 1;
        if (n == PARE_SPARSE_BATCH || c + 1 == channels) {
            for (t = 0; t < valid; ++t) {
                (void)pare_store(p, acc + t * PARE_SPARSE_BATCH, n, first, 0u, out + t, stride);
            }
            out += n * stride;
            first += n;
            n = 0;
        }
    }
}

/* Output positions three at a time (row-major over out_h x out_w), their
 * columns interleaved in scratch (3 * product.depth bytes) as for sparse
 * weights; the depth's padding (read here: it has indices) zeroed once. */
void pare_conv2d_palette(const pare_conv2d_params *p, const int8_t *in, int8_t *out,
                         uint8_t *scratch)
{
    const int32_t plane_in = p->in_h * p->in_w;
    const int32_t plane_out = p->out_h * p->out_w;
    const int32_t cg = p->in_c / p->groups;
    const int32_t mg = p->out_c / p->groups;
    const int32_t taps = p->kernel_h * p->kernel_w * cg;
    const int32_t row = (p->product.depth * p->product.palette.bits + 7) >> 3;
    pare_product group = p->product;
    int32_t g, pos, t;
    pare_fill(scratch + 3 * taps, 0, 3 * (p->product.depth - taps));
    for (g = 0; g < p->groups; ++g) {
        const int8_t *x = in + g * cg * plane_in;
        int8_t *o = out + g * mg * plane_out;
        int32_t oy = 0, ox = 0;
        group.palette.indices = p->product.palette.indices + g * mg * row;
        for (pos = 0; pos < plane_out; pos += 3) {
            const int32_t valid = plane_out - pos < 3 ? plane_out - pos : 3;
            for (t = 0; t < 3; ++t) {
                pare_im2col3(p, x, cg, oy, ox, scratch + t);
                if (t + 1 < valid) {
                    if (++ox == p->out_w) {
                        ox = 0;
                        ++oy;
                    }
                }
            }
            if (++ox == p->out_w) {
                ox = 0;
                ++oy;
            }
            pare_palette_column3(&group, scratch, g * mg, mg, valid, o + pos, plane_out);
        }
    }
}

void pare_fully_connected_palette(const pare_fully_connected_params *p, const int8_t *in,
                                  int8_t *out, uint8_t *scratch)
{
    int32_t r, d;
    for (r = 0; r < p->rows; ++r) {
        (void)pare_gather_column((const uint8_t *)(in + r * p->depth), 1, p->depth, scratch);
        for (d = p->depth; d < p->product.depth; ++d) {
            scratch[d] = 0;
        }
        pare_palette_column(&p->product, scratch, 0, p->units, out, 1);
        out += p->units;
    }
}

/* Each channel's taps decoded from the palette into int32 after the row of
 * sums, then pare_depthwise_conv2d's loop. */
void pare_depthwise_conv2d_palette(const pare_depthwise_params *p, const int8_t *in,
                                   int8_t *out, uint8_t *scratch)
{
    const pare_palette *pal = &p->palette;
    const int32_t taps = p->kernel_h * p->kernel_w;
    const int32_t plane_bytes = (p->pad_h * p->pad_w + 3) / 4 * 4;
    const int32_t row = (taps * pal->bits + 7) >> 3;
    const uint32_t width = (uint32_t)pal->bits, mask = (1u << width) - 1u;
    uint32_t *const acc = (uint32_t *)(void *)(scratch + plane_bytes);
    int32_t *const w = (int32_t *)(void *)(acc + p->out_w);
    int32_t c, t;
    for (c = 0; c < p->channels; ++c) {
        const uint8_t *ix = pal->indices + c * row;
        const int8_t *book = pal->codebooks + c / pal->book_channels * pal->book_size;
        uint32_t buf = 0, have = 0;
        for (t = 0; t < taps; ++t) {
            if (have < width) {
                buf |= (uint32_t)*ix++ << have;
                have += 8;
            }
            w[t] = book[buf & mask];
            buf >>= width;
            have -= width;
        }
        pare_dw_channel(p, c, w, in, out + c * p->out_h * p->out_w, scratch, acc);
    }
}

void pare_matmul(const pare_matmul_params *p, const int8_t *a, const int8_t *b, int8_t *out)
{
    int32_t t, i, j, q;
    for (t = 0; t < p->batches; ++t) {
        const int8_t *at = a + p->a_offsets[t];
        const int8_t *bt = b + p->b_offsets[t];
        for (i = 0; i < p->m; ++i) {
            for (j = 0; j < p->n; ++j) {
                uint32_t acc = 0;
                for (q = 0; q < p->k; ++q) {
                    acc += (uint32_t)((at[i * p->k + q] - p->a_zero_point) *
                                      (bt[q * p->n + j] - p->b_zero_point));
                }
                *out++ = pare_requantize(pare_to_i32(acc), p->multiplier[j], p->shift[j],
                                         p->out_zero_point, p->rounding);
            }
        }
    }
}

/* ---- pooling (pare_ir::interp::int::pool) -------------------------------- */

/* The largest code among the window's positions inside the input (input and
 * output share their quantization). */
void pare_max_pool2d(const pare_pool2d_params *p, const int8_t *in, int8_t *out)
{
    const int32_t in_h = p->in_h, in_w = p->in_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w;
    const int32_t dh = p->dilation_h, dw = p->dilation_w;
    int32_t c, oy, ox, ky, kx;
    for (c = 0; c < p->channels; ++c) {
        const int8_t *x = in + c * in_h * in_w;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                int32_t best = -128;
                int32_t iy = y0;
                if (y0 >= 0 && y0 + (kh - 1) * dh < in_h && x0 >= 0 &&
                    x0 + (kw - 1) * dw < in_w) {
                    /* The whole window inside: no bounds tests. */
                    for (ky = 0; ky < kh; ++ky) {
                        const int8_t *row = x + (y0 + ky * dh) * in_w + x0;
                        for (kx = 0; kx < kw * dw; kx += dw) {
                            if (row[kx] > best) {
                                best = row[kx];
                            }
                        }
                    }
                    *out++ = (int8_t)best;
                    continue;
                }
                for (ky = 0; ky < kh; ++ky, iy += dh) {
                    const int8_t *row;
                    int32_t ix = x0;
                    if (iy < 0 || iy >= in_h) {
                        continue;
                    }
                    row = x + iy * in_w;
                    for (kx = 0; kx < kw; ++kx, ix += dw) {
                        if (ix >= 0 && ix < in_w && row[ix] > best) {
                            best = row[ix];
                        }
                    }
                }
                *out++ = (int8_t)best;
            }
        }
    }
}

/* sum of (x - z_in) over the window's positions inside the input, requantized
 * with the multiplier of its count (padding included when count_include_pad;
 * positions past the explicit end padding are never counted). */
void pare_average_pool2d(const pare_pool2d_params *p, const int8_t *in, int8_t *out)
{
    const int32_t bottom = p->pad_top + p->in_h + p->pad_bottom;
    const int32_t right = p->pad_left + p->in_w + p->pad_right;
    int32_t c, oy, ox, ky, kx;
    for (c = 0; c < p->channels; ++c) {
        const int8_t *x = in + c * p->in_h * p->in_w;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                uint32_t sum = 0;
                int32_t inside = 0;
                int32_t padding = 0;
                int32_t count;
                for (ky = 0; ky < p->kernel_h; ++ky) {
                    const int32_t py = oy * p->stride_h + ky * p->dilation_h; /* padded row */
                    for (kx = 0; kx < p->kernel_w; ++kx) {
                        const int32_t px = ox * p->stride_w + kx * p->dilation_w;
                        const int32_t iy = py - p->pad_top;
                        const int32_t ix = px - p->pad_left;
                        if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                            sum += (uint32_t)(x[iy * p->in_w + ix] - p->in_zero_point);
                            ++inside;
                        } else if (py < bottom && px < right) {
                            ++padding;
                        }
                    }
                }
                count = p->count_include_pad ? inside + padding : inside;
                *out++ = count == 0
                             ? (int8_t)p->out_zero_point
                             : pare_requantize(pare_to_i32(sum), p->multiplier[count],
                                               p->shift[count], p->out_zero_point, p->rounding);
            }
        }
    }
}

/* ---- means (pare_ir::interp::int::reduce, GlobalAveragePool) ------------- */

void pare_mean(const pare_mean_params *p, const int8_t *in, int8_t *out)
{
    int32_t kept_idx[PARE_MAX_RANK] = {0};
    int32_t red_idx[PARE_MAX_RANK] = {0};
    const int32_t outputs = pare_count(p->kept_rank, p->kept_dims);
    const int32_t count = pare_count(p->reduced_rank, p->reduced_dims);
    /* The innermost reduced dim is summed as one strided run, the others
     * stepped once a run; the zero point comes off once per output. */
    const int32_t last = p->reduced_rank - 1;
    const int32_t run = last >= 0 ? p->reduced_dims[last] : 1;
    const int32_t step = last >= 0 ? p->reduced_strides[last] : 0;
    const int32_t runs = run > 0 ? count / run : 0;
    int32_t base = 0;
    int32_t o, r, k;
    for (o = 0; o < outputs; ++o) {
        uint32_t sum = 0u - (uint32_t)count * (uint32_t)p->in_zero_point;
        int32_t offset = 0;
        for (r = 0; r < runs; ++r) {
            const int8_t *x = in + base + offset;
            for (k = 0; k < run; ++k) {
                sum += (uint32_t)(int32_t)*x;
                x += step;
            }
            offset = pare_next_index(last, p->reduced_dims, p->reduced_strides, red_idx, offset);
        }
        out[o] = pare_requantize(pare_to_i32(sum), p->multiplier, p->shift, p->out_zero_point,
                                 p->rounding);
        base = pare_next_index(p->kept_rank, p->kept_dims, p->kept_strides, kept_idx, base);
    }
}

/* ---- element-wise (pare_ir::interp::int::binary, unary, softmax) --------- */

enum { PARE_ADD, PARE_SUB, PARE_MUL };

/* a - z_a and b - z_b are within [-255, 255], so a * 2^20 and a * b fit. */
static int8_t pare_binary_one(const pare_binary_params *p, int32_t kind, int32_t a, int32_t b)
{
    if (kind == PARE_MUL) {
        return pare_requantize(a * b, p->out_multiplier, p->out_shift, p->out_zero_point,
                               p->rounding);
    } else {
        const int32_t sa = pare_mbqm_inline(a * (1 << 20), p->a_multiplier, p->a_shift,
                                            p->rounding);
        const int32_t sb = pare_mbqm_inline(b * (1 << 20), p->b_multiplier, p->b_shift,
                                            p->rounding);
        /* The reference adds (subtracts) with wrap-around. */
        const uint32_t sum = kind == PARE_ADD ? (uint32_t)sa + (uint32_t)sb
                                              : (uint32_t)sa - (uint32_t)sb;
        return pare_requantize(pare_to_i32(sum), p->out_multiplier, p->out_shift,
                               p->out_zero_point, p->rounding);
    }
}

/* One innermost row of n outputs: a and b step by sa and sb. Multiplies
 * whose output requantization takes the common case run a loop of their own
 * with it inlined (a squeeze-excite block multiplies every activation). */
static int8_t *pare_binary_row(const pare_binary_params *p, int32_t kind, const int8_t *a,
                               int32_t sa, const int8_t *b, int32_t sb, int32_t n, int8_t *out)
{
    const int32_t za = p->a_zero_point, zb = p->b_zero_point;
    const int32_t m = p->out_multiplier, s = p->out_shift, zo = p->out_zero_point;
    int8_t *const end = out + n;
    if (kind == PARE_MUL && pare_is_fast_requant(p->rounding, m, s)) {
        while (out != end) {
            const int32_t v = (*a - za) * (*b - zb);
            *out++ = pare_clamp_code(pare_rdbp(pare_srdhm_pos(v, m), -s), zo);
            a += sa;
            b += sb;
        }
    } else {
        while (out != end) {
            *out++ = pare_binary_one(p, kind, *a - za, *b - zb);
            a += sa;
            b += sb;
        }
    }
    return out;
}

/* Walks the output one innermost row at a time and steps the outer
 * multi-index once a row. */
static void pare_binary(const pare_binary_params *p, int32_t kind, const int8_t *a,
                        const int8_t *b, int8_t *out)
{
    int32_t idx[PARE_MAX_RANK] = {0};
    const int32_t last = p->rank - 1;
    const int32_t len = last >= 0 ? p->shape[last] : 1;
    const int32_t sa = last >= 0 ? p->a_strides[last] : 0;
    const int32_t sb = last >= 0 ? p->b_strides[last] : 0;
    const int32_t rows = len > 0 ? pare_count(p->rank, p->shape) / len : 0;
    int32_t ao = 0;
    int32_t bo = 0;
    int32_t row, d;
    for (row = 0; row < rows; ++row) {
        out = pare_binary_row(p, kind, a + ao, sa, b + bo, sb, len, out);
        /* Step both offsets along the outer dims of the output's index. */
        for (d = last - 1; d >= 0; --d) {
            idx[d] += 1;
            ao += p->a_strides[d];
            bo += p->b_strides[d];
            if (idx[d] < p->shape[d]) {
                break;
            }
            ao -= p->a_strides[d] * p->shape[d];
            bo -= p->b_strides[d] * p->shape[d];
            idx[d] = 0;
        }
    }
}

void pare_add(const pare_binary_params *p, const int8_t *a, const int8_t *b, int8_t *out)
{
    pare_binary(p, PARE_ADD, a, b, out);
}

void pare_sub(const pare_binary_params *p, const int8_t *a, const int8_t *b, int8_t *out)
{
    pare_binary(p, PARE_SUB, a, b, out);
}

void pare_mul(const pare_binary_params *p, const int8_t *a, const int8_t *b, int8_t *out)
{
    pare_binary(p, PARE_MUL, a, b, out);
}

void pare_lookup(const pare_lookup_params *p, const int8_t *in, int8_t *out)
{
    const int8_t *const table = p->table + 128; /* indexed by the code itself */
    const int32_t count = p->count;
    int32_t i;
    for (i = 0; i < count; ++i) {
        out[i] = table[in[i]];
    }
}

/* e_k = exp_table[max - q_k]; y_k = clamp((e_k * 256 + sum / 2) / sum - 128).
 * Rows are at most 32767 long (checked by pare), so the sums fit in 32 bits. */
void pare_softmax(const pare_softmax_params *p, const int8_t *in, int8_t *out)
{
    int32_t o, i, k;
    for (o = 0; o < p->outer; ++o) {
        for (i = 0; i < p->inner; ++i) {
            const int32_t base = o * p->len * p->inner + i;
            int32_t max = -128;
            uint32_t sum = 0;
            for (k = 0; k < p->len; ++k) {
                if (in[base + k * p->inner] > max) {
                    max = in[base + k * p->inner];
                }
            }
            for (k = 0; k < p->len; ++k) {
                sum += p->exp_table[max - in[base + k * p->inner]];
            }
            for (k = 0; k < p->len; ++k) {
                const uint32_t e = p->exp_table[max - in[base + k * p->inner]];
                const int32_t y = (int32_t)((e * 256u + sum / 2u) / sum) - 128;
                out[base + k * p->inner] = (int8_t)(y > 127 ? 127 : y);
            }
        }
    }
}

/* ---- data movement (pare_ir::interp::int::movement) ---------------------- */

void pare_concat(const pare_concat_params *p, const int8_t *const *in, int8_t *out)
{
    int32_t o, i;
    for (o = 0; o < p->outer; ++o) {
        for (i = 0; i < p->inputs; ++i) {
            memcpy(out, in[i] + o * p->chunk[i], (size_t)p->chunk[i]);
            out += p->chunk[i];
        }
    }
}

void pare_gather(const pare_gather_params *p, const int8_t *in, int8_t *out)
{
    int32_t idx[PARE_MAX_RANK] = {0};
    const int32_t *dim_offsets[PARE_MAX_RANK];
    const int32_t total = pare_count(p->rank, p->dims);
    int32_t e, d;
    const int32_t *next = p->offsets;
    for (d = 0; d < p->rank; ++d) {
        dim_offsets[d] = next;
        next += p->dims[d];
    }
    for (e = 0; e < total; ++e) {
        int32_t offset = 0;
        int32_t padding = 0;
        for (d = 0; d < p->rank; ++d) {
            const int32_t t = dim_offsets[d][idx[d]];
            if (t < 0) {
                padding = 1;
            }
            offset += t;
        }
        out[e] = padding ? p->fill : in[offset];
        for (d = p->rank - 1; d >= 0; --d) {
            idx[d] += 1;
            if (idx[d] < p->dims[d]) {
                break;
            }
            idx[d] = 0;
        }
    }
}

/* ---- float conversions (the model's _invoke_f32 only) -------------------- */

int8_t pare_quantize_f32(float x, float scale, int32_t zero_point)
{
    const float r = x / scale;
    int32_t q;
    if (r != r) {
        return 0; /* NaN */
    }
    /* Beyond +-512 the code is clamped whatever the zero point. */
    if (r >= 512.0f) {
        return 127;
    }
    if (r <= -512.0f) {
        return -128;
    }
    q = (int32_t)r; /* toward zero; exact since |r| < 512 */
    {
        const float frac = r - (float)q;
        /* Round half to even. */
        if (frac > 0.5f || (frac == 0.5f && q % 2 != 0)) {
            ++q;
        } else if (frac < -0.5f || (frac == -0.5f && q % 2 != 0)) {
            --q;
        }
    }
    q += zero_point;
    if (q > 127) {
        q = 127;
    }
    if (q < -128) {
        q = -128;
    }
    return (int8_t)q;
}

float pare_dequantize_f32(int8_t q, float scale, int32_t zero_point)
{
    return (float)((int32_t)q - zero_point) * scale;
}
