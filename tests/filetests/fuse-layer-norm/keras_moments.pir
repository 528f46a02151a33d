; pass: fuse-layer-norm
; run: equivalent tol=1e-4
; run: equivalent N=3 seed=5 floats=-4..4
; The variance as E[x²] − E[x]² (Keras 3's moments), clamped at zero, epsilon
; added, and 1/√ as Pow(·, −0.5); no scale, no shift. The scale input of the
; fused op is ones.
graph @ln_moments(%x "x": f32[N,6]) -> (f32[N,6]) {
  $axes "axes": i64[1] = [1]
  $zero "zero": f32[] = [0.0]
  $eps "eps": f32[] = [1e-6]
  $mhalf "mhalf": f32[] = [-0.5]
  %m "mean": f32[N,1] = reduce_mean(%x, $axes) {keepdims=true, noop_with_empty_axes=false}
  %xx "square": f32[N,6] = mul(%x, %x)
  %ex2 "mean_sq": f32[N,1] = reduce_mean(%xx, $axes) {keepdims=true, noop_with_empty_axes=false}
  %m2 "square_mean": f32[N,1] = mul(%m, %m)
  %v0 "var_raw": f32[N,1] = sub(%ex2, %m2)
  %v "var": f32[N,1] = max(%v0, $zero)
  %ve "var_eps": f32[N,1] = add(%v, $eps)
  %r "rsqrt": f32[N,1] = pow(%ve, $mhalf)
  %d "centered": f32[N,6] = sub(%x, %m)
  %y "y": f32[N,6] = mul(%d, %r)
  return %y
}
