; pass: fuse-softmax
; run: equivalent
; * y1: the max is over axis 1 but the sum over axis 2;
; * y2: the exponentials are also a graph output;
; * y3: the sum is over two axes.
graph @not_softmax(%a "a": f32[N,3,4]) -> (f32[N,3,4], f32[N,3,4], f32[N,3,4], f32[N,3,4]) {
  $ax1 "ax1": i64[1] = [1]
  $ax2 "ax2": i64[1] = [2]
  $ax12 "ax12": i64[2] = [1, 2]
  %mx "max": f32[N,1,4] = reduce_max(%a, $ax1) {keepdims=true, noop_with_empty_axes=false}
  %sh "sub": f32[N,3,4] = sub(%a, %mx)
  %e "exp": f32[N,3,4] = exp(%sh)
  %s "sum": f32[N,3,1] = reduce_sum(%e, $ax2) {keepdims=true, noop_with_empty_axes=false}
  %y1 "y1": f32[N,3,4] = div(%e, %s)
  %e2 "exp2": f32[N,3,4] = exp(%a)
  %s2 "sum2": f32[N,3,1] = reduce_sum(%e2, $ax2) {keepdims=true, noop_with_empty_axes=false}
  %y2 "y2": f32[N,3,4] = div(%e2, %s2)
  %e3 "exp3": f32[N,3,4] = exp(%a)
  %s3 "sum3": f32[N,1,1] = reduce_sum(%e3, $ax12) {keepdims=true, noop_with_empty_axes=false}
  %y3 "y3": f32[N,3,4] = div(%e3, %s3)
  return %y1, %y2, %e2, %y3
}
