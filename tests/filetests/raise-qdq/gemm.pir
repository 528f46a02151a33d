; passes: raise-qdq,dce
; run: within 0.02 N=512
; A QDQ linear layer as onnxruntime's quantizer writes it: per-channel i8 weight,
; i32 bias at scale s_x·s_w, an activation quantizer on each side. Raised, the
; gemm runs on codes with fixed-point requantization, which may round a code
; differently from QuantizeLinear of the float result (ties): within one output
; step, 0.0625 against outputs up to about 4.4 (1.4e-2 measured on 512 rows).
graph @rq_gemm(%x "x": f32[N,4]) -> (f32[N,3]) {
  $sx "sx": f32[] = [0.0078125]
  $zx "zx": i8[] = [0]
  $w "fc.weight": i8[3,4] = [64, -32, 16, 127, -128, 8, 4, -2, 1, 90, -45, 30]
  $sw "sw": f32[3] = [0.015625, 0.0078125, 0.03125]
  $zw "zw": i8[3] = [0, 0, 0]
  $b "fc.bias": i32[3] = [128, -256, 64]
  $sb "sb": f32[3] = [0.0001220703125, 0.00006103515625, 0.000244140625]
  $zb "zb": i32[3] = [0, 0, 0]
  $sy "sy": f32[] = [0.0625]
  $zy "zy": i8[] = [-10]
  %xq "xq": i8[N,4] = quantize_linear(%x, $sx, $zx) {axis=1, saturate=true, block_size=0}
  %xd "xd": f32[N,4] = dequantize_linear(%xq, $sx, $zx) {axis=1, block_size=0}
  %wd "wd": f32[3,4] = dequantize_linear($w, $sw, $zw) {axis=0, block_size=0}
  %bd "bd": f32[3] = dequantize_linear($b, $sb, $zb) {axis=0, block_size=0}
  %f "f": f32[N,3] = gemm(%xd, %wd, %bd) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  %fq "fq": i8[N,3] = quantize_linear(%f, $sy, $zy) {axis=1, saturate=true, block_size=0}
  %y "y": f32[N,3] = dequantize_linear(%fq, $sy, $zy) {axis=1, block_size=0}
  return %y
}
