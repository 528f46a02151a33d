; passes: quantize{scheme=int4-weights}
; run: within 0.2
; 4-bit weights per output channel, widened to f32 before the gemm; no data needed.
graph @int4_weights(%x "x": f32[N,3]) -> (f32[N,2]) {
  $w "w": f32[2,3] = [0.1, -0.5, 0.25, 1.0, 0.3, -0.75]
  $b "b": f32[2] = [0.3, -0.1]
  %y "y": f32[N,2] = gemm(%x, $w, $b) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  return %y
}
