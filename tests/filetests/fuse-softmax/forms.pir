; pass: fuse-softmax
; run: equivalent tol=1e-5
; run: equivalent N=3 seed=9 floats=-8..8
; * y1, tf2onnx / a hand-written stable softmax over the last axis:
;   ReduceMax, Sub, Exp, ReduceSum, Div;
; * y2, without the max subtraction, over axis 1 of a 3-D tensor, dividing as
;   Mul by a Reciprocal (Softmax is shift-invariant: the same function).
graph @softmax(%a "a": f32[N,5], %b "b": f32[N,3,2]) -> (f32[N,5], f32[N,3,2]) {
  $last "last": i64[1] = [-1]
  $one "one": i64[1] = [1]
  %mx "max": f32[N,1] = reduce_max(%a, $last) {keepdims=true, noop_with_empty_axes=false}
  %sh "sub": f32[N,5] = sub(%a, %mx)
  %e "exp": f32[N,5] = exp(%sh)
  %s "sum": f32[N,1] = reduce_sum(%e, $last) {keepdims=true, noop_with_empty_axes=false}
  %y1 "y1": f32[N,5] = div(%e, %s)
  %eb "exp_b": f32[N,3,2] = exp(%b)
  %sb "sum_b": f32[N,1,2] = reduce_sum(%eb, $one) {keepdims=true, noop_with_empty_axes=false}
  %rb "recip_b": f32[N,1,2] = reciprocal(%sb)
  %y2 "y2": f32[N,3,2] = mul(%rb, %eb)
  return %y1, %y2
}
