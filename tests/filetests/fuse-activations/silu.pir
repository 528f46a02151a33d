; pass: fuse-activations
; run: equivalent tol=0
; run: equivalent N=4 seed=2 floats=-8..8
; SiLU as torch.onnx and tf2onnx write it: Sigmoid then Mul, with
; either operand first, fused bit-exactly (tol=0). y3: a Sigmoid also read
; elsewhere stays.
graph @silu(%a "a": f32[N,4], %b "b": f32[N,4]) -> (f32[N,4], f32[N,4], f32[N,4], f32[N,4]) {
  %s "sig": f32[N,4] = sigmoid(%a)
  %y1 "y1": f32[N,4] = mul(%a, %s)
  %sb "sig_b": f32[N,4] = sigmoid(%b)
  %y2 "y2": f32[N,4] = mul(%sb, %b)
  %sc "sig_c": f32[N,4] = sigmoid(%a)
  %y3 "y3": f32[N,4] = mul(%sc, %a)
  return %y1, %y2, %y3, %sc
}
