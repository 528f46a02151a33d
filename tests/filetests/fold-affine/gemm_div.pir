; passes: fold-affine,dce
; run: equivalent
; Gemm (beta 2 on its bias) divided by a per-feature constant [3]: the bias
; becomes b·beta/c and beta 1.
graph @gemm_div(%x "x": f32[N,2]) -> (f32[N,3]) {
  $w "fc.weight": f32[3,2] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
  $b "fc.bias": f32[3] = [1.0, 2.0, 3.0]
  $d "d": f32[3] = [2.0, 4.0, 0.5]
  %h "h": f32[N,3] = gemm(%x, $w, $b) {alpha=1.0, beta=2.0, trans_a=false, trans_b=true}
  %y "y": f32[N,3] = div(%h, $d)
  return %y
}
