graph @gemm_dead_channels(%x "x": f32[N,4]) -> (f32[N,2], f32[N,1], f32[N,2]) {
  $w1 "w1": f32[3,4] = [0.5, -0.25, 0.75, 0.1, 0.0, 0.0, 0.0, 0.0, 3.0e-39, -2.0e-39, 1.0e-39, 0.0]
  $b1 "b1": f32[3] = [0.1, 2.0, -1.5]
  $w2 "w2": f32[3,2] = [0.5, 0.0, -0.3, 0.0, 0.2, 0.0]
  $w3 "w3": f32[1,4] = [0.001, -0.002, 0.001, 0.0]
  $b3 "b3": f32[1] = [5000.0]
  $w4 "w4": f32[2,4] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
  $b4 "b4": f32[2] = [0.0, 0.0]
  %g1 "g1": f32[N,3] = gemm(%x, $w1, $b1) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  %m "m": f32[N,2] = matmul(%g1, $w2)
  %g3 "g3": f32[N,1] = gemm(%x, $w3, $b3) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  %g4 "g4": f32[N,2] = gemm(%x, $w4, $b4) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  return %m, %g3, %g4
}
