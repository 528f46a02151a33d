; pass: fuse-layer-norm
; run: equivalent
; Written-out normalizations that are not LayerNormalization, or cannot be
; replaced by one, stay as they are:
; * y1: the variance divides the sum by D−1 (an unbiased variance, torch.std);
; * y2: the mean is over the last axis but the variance over axis 1;
; * y3: the centered value is also a graph output (read outside the pattern);
; * y5: Max(var, 0.01) as the floor: too far from var + eps to be a LayerNorm.
graph @not_ln(%x "x": f32[N,3,4]) -> (f32[N,3,4], f32[N,3,4], f32[N,3,4], f32[N,3,4], f32[N,3,4]) {
  $last "last": i64[1] = [-1]
  $mid "mid": i64[1] = [1]
  $inv3 "inv3": f32[] = [0.33333334]
  $two "two": f32[] = [2.0]
  $eps "eps": f32[] = [1e-5]
  $floor "floor": f32[] = [0.01]
  %s1 "s1": f32[N,3,1] = reduce_mean(%x, $last) {keepdims=true, noop_with_empty_axes=false}
  %d1 "d1": f32[N,3,4] = sub(%x, %s1)
  %q1 "q1": f32[N,3,4] = mul(%d1, %d1)
  %u1 "u1": f32[N,3,1] = reduce_sum(%q1, $last) {keepdims=true, noop_with_empty_axes=false}
  %v1 "v1": f32[N,3,1] = mul(%u1, $inv3)
  %e1 "e1": f32[N,3,1] = add(%v1, $eps)
  %r1 "r1": f32[N,3,1] = sqrt(%e1)
  %y1 "y1": f32[N,3,4] = div(%d1, %r1)
  %s2 "s2": f32[N,3,1] = reduce_mean(%x, $last) {keepdims=true, noop_with_empty_axes=false}
  %d2 "d2": f32[N,3,4] = sub(%x, %s2)
  %q2 "q2": f32[N,3,4] = pow(%d2, $two)
  %v2 "v2": f32[N,1,4] = reduce_mean(%q2, $mid) {keepdims=true, noop_with_empty_axes=false}
  %e2 "e2": f32[N,1,4] = add(%v2, $eps)
  %r2 "r2": f32[N,1,4] = sqrt(%e2)
  %y2 "y2": f32[N,3,4] = div(%d2, %r2)
  %s3 "s3": f32[N,3,1] = reduce_mean(%x, $last) {keepdims=true, noop_with_empty_axes=false}
  %d3 "d3": f32[N,3,4] = sub(%x, %s3)
  %q3 "q3": f32[N,3,4] = pow(%d3, $two)
  %v3 "v3": f32[N,3,1] = reduce_mean(%q3, $last) {keepdims=true, noop_with_empty_axes=false}
  %e3 "e3": f32[N,3,1] = add(%v3, $eps)
  %r3 "r3": f32[N,3,1] = sqrt(%e3)
  %y3 "y3": f32[N,3,4] = div(%d3, %r3)
  %s5 "s5": f32[N,3,1] = reduce_mean(%x, $last) {keepdims=true, noop_with_empty_axes=false}
  %d5 "d5": f32[N,3,4] = sub(%x, %s5)
  %q5 "q5": f32[N,3,4] = mul(%d5, %d5)
  %v5 "v5": f32[N,3,1] = reduce_mean(%q5, $last) {keepdims=true, noop_with_empty_axes=false}
  %e5 "e5": f32[N,3,1] = max(%v5, $floor)
  %r5 "r5": f32[N,3,1] = sqrt(%e5)
  %y5 "y5": f32[N,3,4] = div(%d5, %r5)
  return %y1, %y2, %y3, %d3, %y5
}
