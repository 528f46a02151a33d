; pass: fuse-layer-norm
; run: equivalent tol=1e-5
; run: equivalent N=3 seed=5 floats=-4..4
; Other orders the same function is written in: 1/σ as Div(1, Sqrt), the weight
; multiplied into 1/σ before it meets x − mean (as Keras' batch_normalization
; does), the bias added first, and the mean as ReduceSum divided by D.
graph @ln_orders(%x "x": f32[N,4]) -> (f32[N,4]) {
  $axes "axes": i64[1] = [1]
  $d "d": f32[] = [4.0]
  $one "one": f32[] = [1.0]
  $eps "eps": f32[] = [1e-5]
  $w "w": f32[1,4] = [0.5, 1.0, 1.5, 2.0]
  $b "b": f32[1,4] = [-1.0, 0.0, 1.0, 2.0]
  %s "s": f32[N,1] = reduce_sum(%x, $axes) {keepdims=true, noop_with_empty_axes=false}
  %m "m": f32[N,1] = div(%s, $d)
  %c "c": f32[N,4] = sub(%x, %m)
  %q "q": f32[N,4] = mul(%c, %c)
  %v "v": f32[N,1] = reduce_mean(%q, $axes) {keepdims=true, noop_with_empty_axes=false}
  %ve "ve": f32[N,1] = add($eps, %v)
  %sd "sd": f32[N,1] = sqrt(%ve)
  %r "r": f32[N,1] = div($one, %sd)
  %rw "rw": f32[N,4] = mul($w, %r)
  %n "n": f32[N,4] = mul(%c, %rw)
  %y "y": f32[N,4] = add($b, %n)
  return %y
}
