; pass: fuse-layer-norm
; run: equivalent tol=1e-5
; run: equivalent N=3 seed=5 floats=-4..4
; A scale and shift written after a layer_normalization (torch's
; F.layer_norm without weights, then `* w + b`, at opset 17) fold into its
; scale and bias: y1 from one without bias, y2 from one with both, times 2
; then plus 1. y3: a residual add of another value is not an affine and stays.
graph @ln_affine(%x "x": f32[N,4], %h "h": f32[N,4]) -> (f32[N,4], f32[N,4], f32[N,4]) {
  $ones "ones": f32[4] = [1.0, 1.0, 1.0, 1.0]
  $s "s": f32[4] = [1.0, 2.0, 3.0, 4.0]
  $b "b": f32[4] = [0.5, 0.5, -0.5, -0.5]
  $w "w": f32[4] = [2.0, -1.0, 0.5, 1.0]
  $c "c": f32[4] = [0.1, 0.2, 0.3, 0.4]
  $two "two": f32[] = [2.0]
  $one "one": f32[] = [1.0]
  %n1 "n1": f32[N,4] = layer_normalization(%x, $ones) {axis=-1, epsilon=1e-5, stash_type=f32}
  %m1 "m1": f32[N,4] = mul(%n1, $w)
  %y1 "y1": f32[N,4] = add(%m1, $c)
  %n2 "n2": f32[N,4] = layer_normalization(%x, $s, $b) {axis=1, epsilon=1e-5, stash_type=f32}
  %m2 "m2": f32[N,4] = mul($two, %n2)
  %y2 "y2": f32[N,4] = add(%m2, $one)
  %n3 "n3": f32[N,4] = layer_normalization(%x, $s, $b) {axis=1, epsilon=1e-5, stash_type=f32}
  %y3 "y3": f32[N,4] = add(%n3, %h)
  return %y1, %y2, %y3
}
