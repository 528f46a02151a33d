; pass: fuse-layer-norm
; run: equivalent tol=1e-5
; run: equivalent N=3 seed=5 floats=-4..4
; The byte classifier's hand-written LayerNorm through tf2onnx: ReduceSum and a
; multiplication by 1/D for the means, Square as Mul(d, d), Maximum(var, eps)
; as the floor, Rsqrt as Sqrt + Reciprocal, then Mul gamma and Add beta.
graph @ln_sum_max(%x "x": f32[N,8]) -> (f32[N,8]) {
  $axes "axes": i64[1] = [-1]
  $inv_d "inv_d": f32[] = [0.125]
  $eps "eps": f32[] = [1e-12]
  $gamma "gamma": f32[8] = [1.0, 2.0, 0.5, -1.0, 1.25, 0.75, -0.5, 3.0]
  $beta "beta": f32[8] = [0.5, 0.0, -0.5, 1.0, 0.25, -0.25, 0.125, 2.0]
  %s "sum": f32[N,1] = reduce_sum(%x, $axes) {keepdims=true, noop_with_empty_axes=false}
  %m "mean": f32[N,1] = mul(%s, $inv_d)
  %d "sub": f32[N,8] = sub(%x, %m)
  %sq "square": f32[N,8] = mul(%d, %d)
  %vs "var_sum": f32[N,1] = reduce_sum(%sq, $axes) {keepdims=true, noop_with_empty_axes=false}
  %v "var": f32[N,1] = mul(%vs, $inv_d)
  %mx "maximum": f32[N,1] = max(%v, $eps)
  %sr "rsqrt/sqrt": f32[N,1] = sqrt(%mx)
  %r "rsqrt": f32[N,1] = reciprocal(%sr)
  %n "mul": f32[N,8] = mul(%d, %r)
  %g "mul_1": f32[N,8] = mul(%n, $gamma)
  %y "add": f32[N,8] = add(%g, $beta)
  return %y
}
