; passes: quantize{scheme=int8,calib=random:32:1}
; run: within 0.001 floats=0..1
; A bias far larger than s_x*s_w (5000 against weights of 1e-3): at the
; min-max weight scale it would need 3e11 int32 codes, so the weight scale is
; raised until it fits (onnxruntime's rule) with room for the accumulator,
; rather than the bias being clipped. Row 1 is all zero, row 2 all denormal.
graph @int8_bias_overflow(%x "x": f32[N,4]) -> (f32[N,3]) {
  $w "w": f32[3,4] = [0.001, -0.002, 0.001, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0e-39, -2.0e-39, 1.0e-39, 0.0]
  $b "b": f32[3] = [5000.0, 2.0, -1.5]
  %y "y": f32[N,3] = gemm(%x, $w, $b) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  return %y
}
