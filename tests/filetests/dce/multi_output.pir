; pass: dce
; run: equivalent
; top_k stays whole although only its indices are used; the split whose
; outputs are all unused goes.
graph @dce_multi(%x "x": f32[6]) -> (i64[2]) {
  $k "k": i64[1] = [2]
  %v "vals": f32[2], %i "idx": i64[2] = top_k(%x, $k) {axis=0, largest=true, sorted=true}
  %s0: f32[3], %s1: f32[3] = split(%x) {axis=0, num_outputs=2}
  return %i
}
