; pass: fuse-layer-norm
; run: equivalent tol=1e-5
; run: equivalent N=3 seed=5 floats=-4..4
; nn.LayerNorm(4) as torch.onnx writes it below opset 17: ReduceMean, Sub,
; Pow 2, ReduceMean, Add eps, Sqrt, Div, Mul weight, Add bias.
graph @ln_torch(%x "x": f32[N,3,4]) -> (f32[N,3,4]) {
  $axes "axes": i64[1] = [-1]
  $two "two": f32[] = [2.0]
  $eps "eps": f32[] = [1e-5]
  $w "ln.weight": f32[4] = [1.0, 0.5, -2.0, 3.0]
  $b "ln.bias": f32[4] = [0.1, 0.2, 0.3, -0.4]
  %m "m": f32[N,3,1] = reduce_mean(%x, $axes) {keepdims=true, noop_with_empty_axes=false}
  %d "d": f32[N,3,4] = sub(%x, %m)
  %p "p": f32[N,3,4] = pow(%d, $two)
  %v "v": f32[N,3,1] = reduce_mean(%p, $axes) {keepdims=true, noop_with_empty_axes=false}
  %ve "ve": f32[N,3,1] = add(%v, $eps)
  %s "s": f32[N,3,1] = sqrt(%ve)
  %n "n": f32[N,3,4] = div(%d, %s)
  %g "g": f32[N,3,4] = mul(%n, $w)
  %y "y": f32[N,3,4] = add(%g, $b)
  return %y
}
