; passes: share{k=16}
; run: equivalent
; A [2, 3] weight: 16 f32 codebook entries would outweigh its 24 bytes, so it
; is left as it is (the pass notes why).
graph @lab(%x "x": f32[N,3]) -> (f32[N,2]) {
  $w "fc.weight": f32[2,3] = [0.5, -1.0, 2.0, 0.25, 0.75, -0.5]
  %y "y": f32[N,2] = gemm(%x, $w) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  return %y
}
