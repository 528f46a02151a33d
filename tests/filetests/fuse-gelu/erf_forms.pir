; pass: fuse-gelu
; run: equivalent tol=1e-5
; run: equivalent N=4 seed=3 floats=-6..6
; The erf GELU as exporters write it:
; * y1, torch.onnx (nn.GELU below opset 20): Div(x, 1.4142135), Erf, Add 1,
;   Mul x, Mul 0.5;
; * y2, tf2onnx (tf.nn.gelu(approximate=False)): Mul(x, 0.70710677), Erf,
;   Add(1, ·), Mul(0.5, x) first, then the product.
graph @gelu_erf(%a "a": f32[N,6], %b "b": f32[N,6]) -> (f32[N,6], f32[N,6]) {
  $sqrt2 "sqrt2": f32[] = [1.4142135]
  $one "one": f32[] = [1.0]
  $half "half": f32[] = [0.5]
  $rsqrt2 "rsqrt2": f32[] = [0.70710677]
  %d "div": f32[N,6] = div(%a, $sqrt2)
  %e "erf": f32[N,6] = erf(%d)
  %p "add": f32[N,6] = add(%e, $one)
  %m "mul": f32[N,6] = mul(%a, %p)
  %y1 "y1": f32[N,6] = mul(%m, $half)
  %s "mul_s": f32[N,6] = mul(%b, $rsqrt2)
  %e2 "erf_2": f32[N,6] = erf(%s)
  %p2 "add_2": f32[N,6] = add($one, %e2)
  %h "half_x": f32[N,6] = mul($half, %b)
  %y2 "y2": f32[N,6] = mul(%h, %p2)
  return %y1, %y2
}
