; pipeline: prepare-int
; run: equivalent
; run: equivalent N=5 seed=3
; What compile runs before integer quantization: MatMul + Add pairs become Gemm
; with its bias (so the bias is quantized as int32 at s_in·s_w), and the matmul
; left dead by the fusion is removed along with an unused side branch.
graph @prep(%x "x": f32[N,2]) -> (f32[N,2]) {
  $w "w": f32[2,2] = [1.0, 2.0, 3.0, 4.0]
  $b "b": f32[2] = [0.5, -0.5]
  %m "m": f32[N,2] = matmul(%x, $w)
  %y "y": f32[N,2] = add(%m, $b)
  %dead "dead": f32[N,2] = relu(%x)
  return %y
}
