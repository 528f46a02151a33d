; pass: fp16
; run: within 0.01
; The gemm's weight and bias are stored as f16 and widened before the float op;
; 0.1 and 0.3 are not f16-exact, so outputs move by a few f16 ulps.
graph @fp16_gemm(%x "x": f32[N,3]) -> (f32[N,2]) {
  $w "w": f32[2,3] = [0.1, -0.5, 0.25, 1.0, 0.3, -0.75]
  $b "b": f32[2] = [0.3, -0.1]
  %y "y": f32[N,2] = gemm(%x, $w, $b) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  return %y
}
