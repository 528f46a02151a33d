; pass: fuse-layer-norm
; run: equivalent tol=1e-5
; run: equivalent N=3 seed=5 floats=-4..4
; A LayerNorm over the last two axes whose shift comes before its scale
; ((n + b)·w is n·w + b·w): still one LayerNorm over axis 1, whose bias is b·w.
graph @ln_paddle(%x "x": f32[N,2,3]) -> (f32[N,2,3]) {
  $axes "axes": i64[2] = [1, 2]
  $two "two": f32[] = [2.0]
  $eps "eps": f32[] = [1e-5]
  $w "scale": f32[2,3] = [1.0, 2.0, 3.0, -1.0, 0.5, 0.25]
  $b "bias": f32[2,3] = [0.0, 0.5, 1.0, 1.5, -2.0, 4.0]
  %m "mean": f32[N,1,1] = reduce_mean(%x, $axes) {keepdims=true, noop_with_empty_axes=false}
  %d "numerator": f32[N,2,3] = sub(%x, %m)
  %p "pow": f32[N,2,3] = pow(%d, $two)
  %v "variance": f32[N,1,1] = reduce_mean(%p, $axes) {keepdims=true, noop_with_empty_axes=false}
  %ve "add_eps": f32[N,1,1] = add(%v, $eps)
  %s "denominator": f32[N,1,1] = sqrt(%ve)
  %n "norm": f32[N,2,3] = div(%d, %s)
  %nb "norm_plus": f32[N,2,3] = add(%n, $b)
  %y "y": f32[N,2,3] = mul(%nb, $w)
  return %y
}
