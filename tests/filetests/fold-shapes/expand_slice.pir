; pipeline: cleanup
; run: equivalent
; run: equivalent N=5 seed=11
; expand to shape(z) = [N,3,4] from [N,1,4]: N is in place, so it becomes 1.
; slice of x up to shape(x)[0] along axis 0 becomes "to the end".
graph @fs_expand(%x "x": f32[N,1,4], %z "z": f32[N,3,4]) -> (f32[N,3,4], f32[_u0,1,4]) {
  $i0 "i0": i64[1] = [0]
  $one "one": i64[1] = [1]
  %sz "sz": i64[3] = shape(%z) {start=0}
  %e "e": f32[N,3,4] = expand(%x, %sz)
  %sx "sx": i64[3] = shape(%x) {start=0}
  %end "end": i64[1] = gather(%sx, $i0) {axis=0}
  %sl "sl": f32[_u0,1,4] = slice(%x, $one, %end, $i0)
  return %e, %sl
}
