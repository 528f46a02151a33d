; pass: keep-reduced-dims
; run: equivalent
; run: equivalent N=2 seed=11
; Reductions without kept dims that stay as they are, each with a restoring
; Reshape [0,1,4]:
; * 1: the mean is also read by a reduce_max (not element-wise);
; * 2: the mean is also a graph output;
; * 3: the reshape puts the dims back elsewhere ([N,4,1], not [N,1,4]);
; * 4: the mean is added to an input of its shape (a value from outside);
; * 5: a sum over axis 1 meets a sum over axis 2 (same reduced shape,
;   different kept-dims shapes);
; * 6: nothing restores the dims (the reduced value is computed on, then
;   unread).
graph @krd_negatives(%x "x": f32[N,4,4], %z "z": f32[N,4]) -> (f32[N,1,4], f32[N,1], f32[N,1,4], f32[N,4], f32[N,4,1], f32[N,1,4]) {
  $axis "axis": i64[1] = [1]
  $last "last": i64[1] = [2]
  $quarter "quarter": f32[] = [0.25]
  $back "back": i64[3] = [0, 1, 4]
  $side "side": i64[3] = [0, 4, 1]
  %s1 "s1": f32[N,4] = reduce_sum(%x, $axis) {keepdims=false, noop_with_empty_axes=false}
  %m1 "m1": f32[N,4] = mul(%s1, $quarter)
  %b1 "b1": f32[N,1,4] = reshape(%m1, $back) {allowzero=false}
  %o1 "o1": f32[N,1] = reduce_max(%m1, $axis) {keepdims=true, noop_with_empty_axes=false}
  %s2 "s2": f32[N,4] = reduce_sum(%x, $axis) {keepdims=false, noop_with_empty_axes=false}
  %m2 "m2": f32[N,4] = mul(%s2, $quarter)
  %b2 "b2": f32[N,1,4] = reshape(%m2, $back) {allowzero=false}
  %s3 "s3": f32[N,4] = reduce_sum(%x, $axis) {keepdims=false, noop_with_empty_axes=false}
  %b3 "b3": f32[N,4,1] = reshape(%s3, $side) {allowzero=false}
  %s4 "s4": f32[N,4] = reduce_sum(%x, $axis) {keepdims=false, noop_with_empty_axes=false}
  %a4 "a4": f32[N,4] = add(%s4, %z)
  %b4 "b4": f32[N,1,4] = reshape(%a4, $back) {allowzero=false}
  %s5 "s5": f32[N,4] = reduce_sum(%x, $axis) {keepdims=false, noop_with_empty_axes=false}
  %t5 "t5": f32[N,4] = reduce_sum(%x, $last) {keepdims=false, noop_with_empty_axes=false}
  %a5 "a5": f32[N,4] = sub(%s5, %t5)
  %b5 "b5": f32[N,1,4] = reshape(%a5, $back) {allowzero=false}
  %s6 "s6": f32[N,4] = reduce_sum(%x, $axis) {keepdims=false, noop_with_empty_axes=false}
  %m6 "m6": f32[N,4] = mul(%s6, $quarter)
  %o5 "o5": f32[N,1,4] = add(%b2, %b5)
  return %b1, %o1, %o5, %m2, %b3, %b4
}
