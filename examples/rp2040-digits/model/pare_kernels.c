/*
 * pare_kernels.c: the int8 kernels of pare's RP2040 target (C99).
 * See pare_kernels.h for the conventions; each kernel names the Rust file of
 * pare's integer interpreter whose arithmetic it reproduces.
 */
#include "pare_kernels.h"

#include <string.h>

/* ---- requantization (pare_ir::quant::fixed) ------------------------------ */

/* The int32 whose two's complement bits are u (a sum taken modulo 2^32). */
static int32_t pare_to_i32(uint32_t u)
{
    return u <= 0x7fffffffu ? (int32_t)u : -(int32_t)(~u) - 1;
}

/* gemmlowp's SaturatingRoundingDoublingHighMul: 2ab / 2^32 rounded to
 * nearest, ties toward +infinity; INT32_MIN * INT32_MIN saturates. */
static int32_t pare_srdhm(int32_t a, int32_t b)
{
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

/* gemmlowp's RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from
 * zero, e in [0, 31]. Right shifts of negative values are arithmetic on every
 * compiler pare targets (gcc, clang, arm-none-eabi-gcc). */
static int32_t pare_rdbp(int32_t x, int32_t e)
{
    const int32_t mask = (int32_t)((1u << e) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
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

/* clamp(zero_point + r, -128, 127), where the reference adds with saturation:
 * clamping r to [-256, 255] first gives the same code without overflow. */
static int8_t pare_add_zero_point(int32_t r, int32_t zero_point)
{
    if (r > 255) {
        r = 255;
    }
    if (r < -256) {
        r = -256;
    }
    r += zero_point;
    if (r > 127) {
        r = 127;
    }
    if (r < -128) {
        r = -128;
    }
    return (int8_t)r;
}

int8_t pare_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point,
                       int32_t rounding)
{
    return pare_add_zero_point(pare_mbqm(acc, multiplier, shift, rounding), zero_point);
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

/* sum of x[i * x_step] * w[i] for i < n, modulo 2^32: the inner loop of the
 * convolution and the fully connected layer. A small function with few live
 * values, so that the loop keeps everything in the Cortex-M0+'s eight low
 * registers; do-while loops test once per step. */
static uint32_t pare_dot(const int8_t *x, int32_t x_step, const int8_t *w, int32_t n)
{
    uint32_t acc = 0;
    int32_t i = 0;
    if (n <= 0) {
        return 0;
    }
    if (x_step == 1) {
        do {
            acc += (uint32_t)(x[i] * w[i]);
        } while (++i < n);
    } else {
        do {
            acc += (uint32_t)(*x * w[i]);
            x += x_step;
        } while (++i < n);
    }
    return acc;
}

/* ---- convolution (pare_ir::interp::int::conv) ---------------------------- */

/* First tap k >= 0 with start + k * dilation >= 0. */
static int32_t pare_first_tap(int32_t start, int32_t dilation)
{
    return start >= 0 ? 0 : (-start + dilation - 1) / dilation;
}

/* One past the last tap k < taps with start + k * dilation < size. */
static int32_t pare_end_tap(int32_t start, int32_t dilation, int32_t size, int32_t taps)
{
    int32_t end;
    if (start > size - 1) {
        return 0;
    }
    end = (size - 1 - start) / dilation + 1;
    return end < taps ? end : taps;
}

/* Sum of the weights of one output channel (w_oc, [kernel_h][kernel_w][channels])
 * whose taps fall in the padding: outside rows [ky_lo, ky_hi) or columns
 * [kx_lo, kx_hi). */
static uint32_t pare_padding_weights(const pare_conv2d_params *p, const int8_t *w_oc,
                                     int32_t ky_lo, int32_t ky_hi, int32_t kx_lo,
                                     int32_t kx_hi)
{
    const int32_t channels = p->in_c / p->groups;
    uint32_t sum = 0;
    int32_t ky, kx, ci;
    for (ky = 0; ky < p->kernel_h; ++ky) {
        for (kx = 0; kx < p->kernel_w; ++kx) {
            if (ky < ky_lo || ky >= ky_hi || kx < kx_lo || kx >= kx_hi) {
                for (ci = 0; ci < channels; ++ci) {
                    sum += (uint32_t)w_oc[ci];
                }
            }
            w_oc += channels;
        }
    }
    return sum;
}

/*
 * acc = bias[oc] + sum over taps inside the input of (x - z_x) * w. The bias
 * given already holds -z_x * (all of the channel's weights), so taps inside
 * the input add x * w alone and taps in the padding (which the reference
 * skips) add back z_x * w: one correction per output on the border.
 *
 * Weights keep the group's input channels innermost, so each tap is one dot
 * product over the channels (input stride: one plane); with one channel per
 * group (depthwise, or a single-channel input) each kernel row is one dot
 * product along the row instead.
 */
void pare_conv2d(const pare_conv2d_params *p, const int8_t *in, int8_t *out)
{
    const int32_t in_plane = p->in_h * p->in_w;
    const int32_t cg = p->in_c / p->groups; /* input channels per group */
    const int32_t mg = p->out_c / p->groups; /* output channels per group */
    const int32_t taps = p->kernel_h * p->kernel_w;
    int32_t oc, oy, ox, ky, kx;
    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *x_group = in + (oc / mg) * cg * in_plane;
        const int8_t *w_oc = p->weights + oc * taps * cg;
        const int32_t multiplier = p->multiplier[oc];
        const int32_t shift = p->shift[oc];
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top; /* input row of tap 0 */
            const int32_t ky_lo = pare_first_tap(y0, p->dilation_h);
            const int32_t ky_hi = pare_end_tap(y0, p->dilation_h, p->in_h, p->kernel_h);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left; /* input column of tap 0 */
                const int32_t kx_lo = pare_first_tap(x0, p->dilation_w);
                const int32_t kx_hi = pare_end_tap(x0, p->dilation_w, p->in_w, p->kernel_w);
                uint32_t acc = (uint32_t)p->bias[oc];
                for (ky = ky_lo; ky < ky_hi; ++ky) {
                    /* Offset of (row of tap ky, column of tap kx_lo) in a plane. */
                    const int32_t at = (y0 + ky * p->dilation_h) * p->in_w + x0 +
                                       kx_lo * p->dilation_w;
                    const int8_t *w_row = w_oc + (ky * p->kernel_w + kx_lo) * cg;
                    if (cg == 1) {
                        acc += pare_dot(x_group + at, p->dilation_w, w_row, kx_hi - kx_lo);
                    } else {
                        for (kx = 0; kx < kx_hi - kx_lo; ++kx) {
                            acc += pare_dot(x_group + at + kx * p->dilation_w, in_plane,
                                            w_row + kx * cg, cg);
                        }
                    }
                }
                if (ky_lo > 0 || ky_hi < p->kernel_h || kx_lo > 0 || kx_hi < p->kernel_w) {
                    acc += (uint32_t)p->in_zero_point *
                           pare_padding_weights(p, w_oc, ky_lo, ky_hi, kx_lo, kx_hi);
                }
                *out++ = pare_requantize(pare_to_i32(acc), multiplier, shift,
                                         p->out_zero_point, p->rounding);
            }
        }
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

/* The bias given holds -z_in * (the unit's weights), so each term is x * w. */
void pare_fully_connected(const pare_fully_connected_params *p, const int8_t *in, int8_t *out)
{
    int32_t r, u;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *x = in + r * p->depth;
        const int8_t *w = p->weights;
        for (u = 0; u < p->units; ++u) {
            const uint32_t acc = (uint32_t)p->bias[u] + pare_dot(x, 1, w, p->depth);
            w += p->depth;
            *out++ = pare_requantize(pare_to_i32(acc), p->multiplier[u], p->shift[u],
                                     p->out_zero_point, p->rounding);
        }
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
    int32_t c, oy, ox, ky, kx;
    for (c = 0; c < p->channels; ++c) {
        const int8_t *x = in + c * p->in_h * p->in_w;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int32_t best = -128;
                for (ky = 0; ky < p->kernel_h; ++ky) {
                    const int32_t iy = oy * p->stride_h + ky * p->dilation_h - p->pad_top;
                    if (iy < 0 || iy >= p->in_h) {
                        continue;
                    }
                    for (kx = 0; kx < p->kernel_w; ++kx) {
                        const int32_t ix = ox * p->stride_w + kx * p->dilation_w - p->pad_left;
                        if (ix >= 0 && ix < p->in_w && x[iy * p->in_w + ix] > best) {
                            best = x[iy * p->in_w + ix];
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
    int32_t base = 0;
    int32_t o, r;
    for (o = 0; o < outputs; ++o) {
        uint32_t sum = 0;
        int32_t offset = 0;
        for (r = 0; r < count; ++r) {
            sum += (uint32_t)(in[base + offset] - p->in_zero_point);
            offset = pare_next_index(p->reduced_rank, p->reduced_dims, p->reduced_strides,
                                     red_idx, offset);
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
        const int32_t sa = pare_mbqm(a * (1 << 20), p->a_multiplier, p->a_shift, p->rounding);
        const int32_t sb = pare_mbqm(b * (1 << 20), p->b_multiplier, p->b_shift, p->rounding);
        /* The reference adds (subtracts) with wrap-around. */
        const uint32_t sum = kind == PARE_ADD ? (uint32_t)sa + (uint32_t)sb
                                              : (uint32_t)sa - (uint32_t)sb;
        return pare_requantize(pare_to_i32(sum), p->out_multiplier, p->out_shift,
                               p->out_zero_point, p->rounding);
    }
}

static void pare_binary(const pare_binary_params *p, int32_t kind, const int8_t *a,
                        const int8_t *b, int8_t *out)
{
    int32_t idx[PARE_MAX_RANK] = {0};
    const int32_t total = pare_count(p->rank, p->shape);
    int32_t ao = 0;
    int32_t bo = 0;
    int32_t e, d;
    for (e = 0; e < total; ++e) {
        out[e] = pare_binary_one(p, kind, a[ao] - p->a_zero_point, b[bo] - p->b_zero_point);
        /* Step both offsets along the output's multi-index. */
        for (d = p->rank - 1; d >= 0; --d) {
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
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        out[i] = p->table[in[i] + 128];
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

/* ---- 4-bit weights (pare_ir::interp::int::matmul on unpacked codes) ------ */

/* sum over d < n of x[d] * (code[d] + 8), modulo 2^32, for the packed codes of
 * one unit: b ^ 0x88 turns both two's complement nibbles of a byte into
 * offset binary (code + 8 in 0..15), so a nibble is a mask or a shift away.
 * The caller takes 8 * (sum of x) back out. */
static uint32_t pare_dot_s4(const int8_t *x, const uint8_t *w, int32_t n)
{
    uint32_t acc = 0;
    const int32_t pairs = n / 2;
    int32_t i;
    for (i = 0; i < pairs; ++i) {
        const uint32_t b = (uint32_t)w[i] ^ 0x88u;
        acc += (uint32_t)(x[0] * (int32_t)(b & 15u));
        acc += (uint32_t)(x[1] * (int32_t)(b >> 4));
        x += 2;
    }
    if (n % 2 != 0) {
        acc += (uint32_t)(x[0] * (int32_t)(((uint32_t)w[pairs] ^ 0x88u) & 15u));
    }
    return acc;
}

void pare_fully_connected_s4(const pare_fully_connected_s4_params *p, const int8_t *in,
                             int8_t *out)
{
    const int32_t row_bytes = (p->depth + 1) / 2;
    int32_t r, u, d;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *x = in + r * p->depth;
        const uint8_t *w = p->weights;
        uint32_t x_sum = 0;
        for (d = 0; d < p->depth; ++d) {
            x_sum += (uint32_t)(int32_t)x[d];
        }
        for (u = 0; u < p->units; ++u) {
            const uint32_t acc =
                (uint32_t)p->bias[u] + pare_dot_s4(x, w, p->depth) - 8u * x_sum;
            w += row_bytes;
            *out++ = pare_requantize(pare_to_i32(acc), p->multiplier[u], p->shift[u],
                                     p->out_zero_point, p->rounding);
        }
    }
}
