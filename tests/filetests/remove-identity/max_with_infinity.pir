; passes: remove-identity,dce
; run: equivalent
; JAX's stable softmax: max(-inf, reduce_max(x)) is reduce_max(x); min with
; +inf likewise. A -inf that would widen its operand by broadcasting, and a
; constant that is not all infinities, stay.
graph @max_inf(%x "x": f32[N,4]) -> (f32[N,4], f32[N,1], f32[N,4], f32[N,4]) {
  $ninf "ninf": f32[] = [-inf]
  $pinf "pinf": f32[1,1] = [inf]
  $wide "wide": f32[1,4] = [-inf, -inf, -inf, -inf]
  $mixed "mixed": f32[4] = [-inf, 0.0, -inf, -inf]
  $axes "axes": i64[1] = [1]
  %m "m": f32[N,1] = reduce_max(%x, $axes) {keepdims=true, noop_with_empty_axes=false}
  %a "a": f32[N,1] = max($ninf, %m)
  %b "b": f32[N,1] = min(%a, $pinf)
  %s "s": f32[N,4] = sub(%x, %b)
  %w "w": f32[N,4] = max(%b, $wide)
  %c "c": f32[N,4] = max(%x, $mixed)
  return %s, %b, %w, %c
}
