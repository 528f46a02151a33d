; passes: sparse-encode{min-saving=0.5}
; run: equivalent
; A sparse weight that saves less than min-saving (5 bytes against 6 dense)
; goes back to dense; the values are the same.
graph @min_saving_densifies(%x "x": f32[N,3]) -> (f32[N,2]) {
  $w "w": i8[2,3] !q(bits=8, signed=true, axis=0, scale=[0.5, 0.25], zp=[0, 0]) = sparse(nnz=3, density=0.50) hex "0504" hex "010203"
  $s "s": f32[2] = [0.5, 0.25]
  %d "d": f32[2,3] = dequantize_linear($w, $s) {axis=0, block_size=0}
  %y "y": f32[N,2] = gemm(%x, %d) "fc" {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  return %y
}
