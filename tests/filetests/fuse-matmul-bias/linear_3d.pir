; pass: fuse-matmul-bias
; run: equivalent
; run: equivalent N=5 seed=11
; nn.Linear on a [N, T, K] input as exporters write it (MatMul + Add) becomes
; flatten → Gemm with the bias → unflatten; the 2-D one becomes a bare Gemm.
graph @linear(%x "x": f32[N,3,2], %z "z": f32[N,2]) -> (f32[N,3,2], f32[N,2]) {
  $w "w": f32[2,2] = [1.0, 2.0, 3.0, 4.0]
  $b "b": f32[2] = [0.5, -0.5]
  %m "m": f32[N,3,2] = matmul(%x, $w)
  %y "y": f32[N,3,2] = add(%m, $b)
  %m2 "m2": f32[N,2] = matmul(%z, $w)
  %y2 "y2": f32[N,2] = add($b, %m2)
  return %y, %y2
}
