; pass: fuse-gelu
; run: equivalent tol=1e-5
; run: equivalent N=4 seed=3 floats=-6..6
; The tanh GELU as exporters write it:
; * y1, tf2onnx (the byte classifier: five Muls, Add, Tanh): x·x·x, ·0.044715,
;   + x, ·√(2/π) = 0.7978846, Tanh, + 1, ·x, ·0.5;
; * y2, torch.onnx (nn.GELU(approximate="tanh") below opset 20): Pow(x, 3),
;   √(2/π) written as 0.7978845608028654, 0.5·x first.
graph @gelu_tanh(%a "a": f32[N,6], %b "b": f32[N,6]) -> (f32[N,6], f32[N,6]) {
  $c "c": f32[] = [0.044715]
  $k "k": f32[] = [0.7978846]
  $k64 "k64": f32[] = [0.7978845608028654]
  $one "one": f32[] = [1.0]
  $half "half": f32[] = [0.5]
  $three "three": f32[] = [3.0]
  %a2 "mul": f32[N,6] = mul(%a, %a)
  %a3 "mul_1": f32[N,6] = mul(%a2, %a)
  %ca3 "mul_2": f32[N,6] = mul(%a3, $c)
  %in "add": f32[N,6] = add(%a, %ca3)
  %ki "mul_3": f32[N,6] = mul(%in, $k)
  %t "tanh": f32[N,6] = tanh(%ki)
  %t1 "add_1": f32[N,6] = add(%t, $one)
  %xt "mul_4": f32[N,6] = mul(%a, %t1)
  %y1 "y1": f32[N,6] = mul(%xt, $half)
  %hb "half_b": f32[N,6] = mul($half, %b)
  %b3 "pow": f32[N,6] = pow(%b, $three)
  %cb3 "cb3": f32[N,6] = mul($c, %b3)
  %inb "inner": f32[N,6] = add(%b, %cb3)
  %kib "scaled": f32[N,6] = mul($k64, %inb)
  %tb "tanh_b": f32[N,6] = tanh(%kib)
  %tb1 "one_plus": f32[N,6] = add($one, %tb)
  %y2 "y2": f32[N,6] = mul(%hb, %tb1)
  return %y1, %y2
}
