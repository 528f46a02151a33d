/*
 * pare_kernels.h: the int8 kernels of pare's RP2040 target (C99).
 *
 * Written for a Cortex-M0+ (no SIMD, no FPU, 32-bit integers): plain loops,
 * 32-bit arithmetic everywhere except the 64-bit products of requantization.
 * No malloc, no recursion, no global state: every kernel reads its constants
 * from a params struct (generated as `static const` data) and its operands from
 * the pointers it is given.
 *
 * The arithmetic of each kernel is that of pare's integer interpreter
 * (pare_ir::interp::int), bit for bit: its Rust docs are the specification.
 * Shared notation:
 *   - activations are int8 codes with a per-tensor zero point;
 *   - weights are int8, symmetric (zero point 0), per output channel;
 *   - sums are taken modulo 2^32 like the reference's wrapping i32 (they are
 *     kept in uint32_t here, since signed overflow is undefined in C);
 *   - requantization is TFLite's MultiplyByQuantizedMultiplier with the
 *     rounding named in the params (PARE_ROUNDING_*).
 *
 * Shapes have batch 1 and NCHW layout; tensors are contiguous, row-major.
 * The same file serves every model pare generates: share one copy.
 */
#ifndef PARE_KERNELS_H
#define PARE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Alignment of constant arrays and of the static arena (a GNU C attribute;
 * other compilers get byte alignment, which every kernel accepts). */
#if defined(__GNUC__) || defined(__clang__)
#define PARE_ALIGNED(n) __attribute__((aligned(n)))
#else
#define PARE_ALIGNED(n)
#endif

/* Most dims a data-movement or element-wise kernel handles. */
#define PARE_MAX_RANK 8

/* Requantization rounding (pare_ir::quant::Rounding). */
#define PARE_ROUNDING_GEMMLOWP 0 /* SaturatingRoundingDoublingHighMul + RoundingDivideByPOT */
#define PARE_ROUNDING_SINGLE 1   /* (x * m + 2^(s-1)) >> s in 64 bits */

/* ---- requantization ------------------------------------------------------ */

/* x * multiplier * 2^(shift - 31), rounded as `rounding` says
 * (pare_ir::quant::multiply_by_quantized_multiplier). */
int32_t pare_mbqm(int32_t x, int32_t multiplier, int32_t shift, int32_t rounding);

/* clamp(zero_point + pare_mbqm(acc, ...), -128, 127) for a zero point in
 * [-128, 127]: the last step of every requantizing kernel. */
int8_t pare_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t zero_point,
                       int32_t rounding);

/* ---- products: convolution and fully connected --------------------------- */

/* The weights of a product layer, laid out by pare for the inner loop (see
 * pare_kernels.c). 8-bit: output channels in blocks of three, each block
 * [depth][3] bytes of w + 128, then the one or two channels left as one block
 * [depth][1 or 2]. 4-bit: pairs of channels, [depth] bytes each, w + 8 in the
 * low nibble for the first channel and the high one for the second (an odd
 * last channel has a weight-0 partner). depth a multiple of 4 (8 for 4-bit
 * weights; padded with weight 0). */
/* Weights stored as a palette (weight sharing; the *_palette kernels): per
 * run of book_channels consecutive output channels a codebook of book_size
 * int8 weights (ascending), and per output channel the index of each tap's
 * weight in its codebook, `bits` wide (1 to 8), least significant bit first,
 * each channel's indices starting on a byte: ceil(taps * bits / 8) bytes a
 * channel, taps = product.depth for a product (the depth's padding points at
 * entry 0), kernel_h * kernel_w for a depthwise conv. The kernels decode an
 * index a tap in their inner loop (8, 4 and 2 bits a byte at a time, other
 * widths through a bit buffer). pare picks this form for a layer whose weight
 * is a palette in the IR where it is smaller than the dense (or sparse)
 * bytes. */
typedef struct {
    int32_t bits;          /* index width, 1 to 8 */
    int32_t book_size;     /* entries per codebook */
    int32_t book_channels; /* output channels sharing a codebook */
    const uint8_t *indices;  /* [channels][ceil(taps * bits / 8)] */
    const int8_t *codebooks; /* [channels / book_channels][book_size] */
} pare_palette;

typedef struct {
    int32_t depth;             /* taps per output, padded to a multiple of 4 (8: 4-bit) */
    int32_t bits;              /* weight bits: 8 or 4, or PARE_SPARSE, PARE_PALETTE */
    int32_t out_zero_point;
    int32_t rounding;
    int32_t fast; /* 1: every channel has multiplier >= 0 and shift in [-31, 0], gemmlowp rounding */
    const uint8_t *weights;  /* [channels][depth] in blocks (per group for a conv) */
    const int32_t *channels; /* [channels][3]: bias', multiplier, shift, where
                                bias' = bias - zu * sum(w), zu = input zero point + 128 */
    pare_palette palette;    /* bits == PARE_PALETTE: the weights (weights is NULL) */
} pare_product;

/* bits of a product whose 8-bit weights are stored sparse (the *_sparse
 * kernels): per output channel, per chunk of eight taps (ceil(depth / 8)
 * chunks), one mask byte (bit j set: tap 8 i + j is non-zero) and then that
 * chunk's non-zero weights as int8 in tap order; the channels one after the
 * other (per group for a conv). The kernels test one bit per tap and load and
 * multiply only the non-zeros; bias' = bias - zu * sum(w) as for dense
 * weights. pare picks this form for a layer when it is smaller than the
 * weights' bytes. */
#define PARE_SPARSE 0

/* bits of a product whose weights are a palette (product.palette; the
 * *_palette kernels). Their sum is bias' + sum xu * w as for sparse weights. */
#define PARE_PALETTE 1

/* 2-D convolution with groups, strides, pads, dilations, as im2col columns.
 * Input [in_c][in_h][in_w], output [out_c][out_h][out_w]; scratch holds one
 * column (product.depth bytes). */
typedef struct {
    int32_t in_c, in_h, in_w;
    int32_t out_c, out_h, out_w;
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left;
    int32_t groups;
    int32_t in_zero_point;
    pare_product product; /* weights per group: [kernel_h][kernel_w][in_c / groups] taps */
} pare_conv2d_params;

void pare_conv2d(const pare_conv2d_params *p, const int8_t *in, int8_t *out, uint8_t *scratch);

/* pare_conv2d for product.bits == PARE_SPARSE (product.weights: the stream);
 * scratch holds three columns (3 * product.depth bytes). */
void pare_conv2d_sparse(const pare_conv2d_params *p, const int8_t *in, int8_t *out,
                        uint8_t *scratch);

/* pare_conv2d for product.bits == PARE_PALETTE: three output positions per
 * index decoded, so scratch holds three columns (3 * product.depth bytes). */
void pare_conv2d_palette(const pare_conv2d_params *p, const int8_t *in, int8_t *out,
                         uint8_t *scratch);

/* Depthwise 2-D convolution (one input channel per output channel). scratch
 * holds one channel's padded plane (pad_h * pad_w bytes, rounded up to 4) and
 * one output row of int32 sums (4 * out_w bytes). */
typedef struct {
    int32_t channels, in_h, in_w, out_h, out_w;
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left;
    int32_t pad_h, pad_w; /* the padded plane: every row and column a tap reads */
    int32_t in_zero_point, out_zero_point;
    int32_t rounding;
    const int32_t *weights;    /* [channels][kernel_h][kernel_w], widened to int32 */
    const int32_t *bias;       /* [channels]: bias - zu * (sum of the channel's weights) */
    const int32_t *multiplier; /* [channels] */
    const int32_t *shift;      /* [channels] */
    pare_palette palette;      /* the *_palette kernel's weights (weights is NULL) */
} pare_depthwise_params;

void pare_depthwise_conv2d(const pare_depthwise_params *p, const int8_t *in, int8_t *out,
                           uint8_t *scratch);

/* pare_depthwise_conv2d with palette weights: scratch also holds one
 * channel's taps decoded to int32 (4 * kernel_h * kernel_w bytes) after the
 * row of sums. */
void pare_depthwise_conv2d_palette(const pare_depthwise_params *p, const int8_t *in,
                                   int8_t *out, uint8_t *scratch);

/* 2-D transposed convolution: input position i and tap k feed output
 * o = i * stride + k * dilation - pad (pads may be negative).
 * Input [in_c][in_h][in_w], output [out_c][out_h][out_w]. */
typedef struct {
    int32_t in_c, in_h, in_w;
    int32_t out_c, out_h, out_w;
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left;
    int32_t groups;
    int32_t in_zero_point, out_zero_point;
    int32_t rounding;
    const int8_t *weights;     /* [in_c][out_c / groups][kernel_h][kernel_w] */
    const int32_t *bias;       /* [out_c], or NULL */
    const int32_t *multiplier; /* [out_c] */
    const int32_t *shift;      /* [out_c] */
} pare_conv_transpose2d_params;

void pare_conv_transpose2d(const pare_conv_transpose2d_params *p, const int8_t *in, int8_t *out);

/* ---- matrix products ----------------------------------------------------- */

/* Fully connected: out[r][u] = requant(sum_d in[r][d] * weights[u][d] + bias[u]).
 * Gemm and MatMul with a constant right operand. scratch holds one row
 * (product.depth bytes). */
typedef struct {
    int32_t rows, depth, units;
    pare_product product;
} pare_fully_connected_params;

void pare_fully_connected(const pare_fully_connected_params *p, const int8_t *in, int8_t *out,
                          uint8_t *scratch);

/* pare_fully_connected for product.bits == PARE_SPARSE (product.weights: the stream). */
void pare_fully_connected_sparse(const pare_fully_connected_params *p, const int8_t *in,
                                 int8_t *out, uint8_t *scratch);

/* pare_fully_connected for product.bits == PARE_PALETTE. */
void pare_fully_connected_palette(const pare_fully_connected_params *p, const int8_t *in,
                                  int8_t *out, uint8_t *scratch);

/* Batched matrix product of two int8 operands (activation x activation):
 * for each batch b, the [m][k] matrix at a + a_offsets[b] times the [k][n]
 * matrix at b + b_offsets[b] gives out's b-th [m][n] matrix. */
typedef struct {
    int32_t batches, m, k, n;
    int32_t a_zero_point, b_zero_point, out_zero_point;
    int32_t rounding;
    const int32_t *a_offsets;  /* [batches] */
    const int32_t *b_offsets;  /* [batches] */
    const int32_t *multiplier; /* [n] */
    const int32_t *shift;      /* [n] */
} pare_matmul_params;

void pare_matmul(const pare_matmul_params *p, const int8_t *a, const int8_t *b, int8_t *out);

/* ---- pooling and means --------------------------------------------------- */

/* 2-D pooling over [channels][in_h][in_w]. pad_bottom/pad_right bound the
 * padding an average counts (a ceil_mode window may reach past them). */
typedef struct {
    int32_t channels, in_h, in_w, out_h, out_w;
    int32_t kernel_h, kernel_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
    int32_t count_include_pad;
    int32_t in_zero_point, out_zero_point;
    int32_t rounding;
    const int32_t *multiplier; /* average: [kernel_h * kernel_w + 1], by window count */
    const int32_t *shift;      /* average: as multiplier */
} pare_pool2d_params;

void pare_max_pool2d(const pare_pool2d_params *p, const int8_t *in, int8_t *out);
void pare_average_pool2d(const pare_pool2d_params *p, const int8_t *in, int8_t *out);

/* Mean over some axes (ReduceMean, GlobalAveragePool). The output walks the
 * kept dims in order; each output element sums the reduced dims. Strides are
 * in input elements. */
typedef struct {
    int32_t kept_rank;
    int32_t kept_dims[PARE_MAX_RANK];
    int32_t kept_strides[PARE_MAX_RANK];
    int32_t reduced_rank;
    int32_t reduced_dims[PARE_MAX_RANK];
    int32_t reduced_strides[PARE_MAX_RANK];
    int32_t in_zero_point, out_zero_point;
    int32_t multiplier, shift;
    int32_t rounding;
} pare_mean_params;

void pare_mean(const pare_mean_params *p, const int8_t *in, int8_t *out);

/* ---- element-wise -------------------------------------------------------- */

/* Add, Sub and Mul with broadcasting: the output has `shape`; the strides (in
 * elements, 0 along broadcast dims) say where each operand's element is. */
typedef struct {
    int32_t rank;
    int32_t shape[PARE_MAX_RANK];
    int32_t a_strides[PARE_MAX_RANK];
    int32_t b_strides[PARE_MAX_RANK];
    int32_t a_zero_point, b_zero_point, out_zero_point;
    int32_t a_multiplier, a_shift; /* add/sub: s_a / (2 max(s_a, s_b)) */
    int32_t b_multiplier, b_shift; /* add/sub: s_b / (2 max(s_a, s_b)) */
    int32_t out_multiplier, out_shift;
    int32_t rounding;
} pare_binary_params;

void pare_add(const pare_binary_params *p, const int8_t *a, const int8_t *b, int8_t *out);
void pare_sub(const pare_binary_params *p, const int8_t *a, const int8_t *b, int8_t *out);
void pare_mul(const pare_binary_params *p, const int8_t *a, const int8_t *b, int8_t *out);

/* A unary op as a table: out[i] = table[in[i] + 128]. Works in place (out == in). */
typedef struct {
    int32_t count;
    const int8_t *table; /* [256] */
} pare_lookup_params;

void pare_lookup(const pare_lookup_params *p, const int8_t *in, int8_t *out);

/* Softmax along one axis of an [outer][len][inner] tensor; the output has
 * scale 1/256 and zero point -128. */
typedef struct {
    int32_t outer, len, inner;
    const uint32_t *exp_table; /* [256]: exp(-s_in * d) in Q16 */
} pare_softmax_params;

void pare_softmax(const pare_softmax_params *p, const int8_t *in, int8_t *out);

/* ---- data movement ------------------------------------------------------- */

/* Concatenation: for each of `outer` steps, each input's next chunk[i] bytes. */
typedef struct {
    int32_t outer;
    int32_t inputs;
    const int32_t *chunk; /* [inputs] */
} pare_concat_params;

void pare_concat(const pare_concat_params *p, const int8_t *const *in, int8_t *out);

/* Any copy whose source offset is a sum of one term per output dim (Transpose,
 * Pad, Slice, Expand, Tile, Split, ...): out[o] = in[sum_d offsets_d[o_d]], or
 * `fill` where some offsets_d[o_d] is -1 (padding). */
typedef struct {
    int32_t rank;
    int32_t dims[PARE_MAX_RANK];
    const int32_t *offsets; /* dims[0] entries for dim 0, then dim 1's, ... */
    int8_t fill;
} pare_gather_params;

void pare_gather(const pare_gather_params *p, const int8_t *in, int8_t *out);

/* ---- float conversions (the model's _invoke_f32 only) -------------------- */

/* clamp(round_half_even(x / scale) + zero_point, -128, 127), the division in
 * float; NaN gives 0 (pare_ir::quant::quantize_f32). */
int8_t pare_quantize_f32(float x, float scale, int32_t zero_point);

/* (float)(q - zero_point) * scale. */
float pare_dequantize_f32(int8_t q, float scale, int32_t zero_point);

#ifdef __cplusplus
}
#endif

#endif /* PARE_KERNELS_H */
