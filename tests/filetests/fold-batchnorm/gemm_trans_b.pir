; passes: fold-batchnorm,dce
; run: equivalent
; gemm with trans_b: B is [M=2, K=3], rows scaled; C is scaled by beta=2 into the
; new bias and beta becomes 1.
graph @bn_gemm(%x "x": f32[4,3]) -> (f32[4,2]) {
  $b "fc.weight": f32[2,3] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
  $c "fc.bias": f32[2] = [1.0, 1.0]
  $g "gamma": f32[2] = [1.0, 2.0]
  $be "beta": f32[2] = [0.5, -0.5]
  $mu "mean": f32[2] = [0.0, 1.0]
  $var "var": f32[2] = [1.0, 4.0]
  %f "f": f32[4,2] = gemm(%x, $b, $c) {alpha=1.0, beta=2.0, trans_a=false, trans_b=true}
  %y "y": f32[4,2] = batch_normalization(%f, $g, $be, $mu, $var) {epsilon=0.0}
  return %y
}
