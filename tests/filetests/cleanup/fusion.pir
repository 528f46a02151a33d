; pipeline: cleanup
; run: equivalent tol=1e-5
; run: equivalent N=3 seed=4 floats=-5..5
; The fusions run inside cleanup's fixpoint, after constant folding: here
; √(2/π) is computed in the graph (Sqrt of Div(2, π)), as some exporters leave
; it, and the GELU only matches once it is folded; the SiLU after it then fuses
; in the same pipeline.
graph @cleanup_fusion(%x "x": f32[N,4]) -> (f32[N,4]) {
  $two "two": f32[] = [2.0]
  $pi "pi": f32[] = [3.1415927]
  $c "c": f32[] = [0.044715]
  $one "one": f32[] = [1.0]
  $half "half": f32[] = [0.5]
  $three "three": f32[] = [3.0]
  %k0 "k0": f32[] = div($two, $pi)
  %k "k": f32[] = sqrt(%k0)
  %x3 "x3": f32[N,4] = pow(%x, $three)
  %cx3 "cx3": f32[N,4] = mul(%x3, $c)
  %in "in": f32[N,4] = add(%x, %cx3)
  %ki "ki": f32[N,4] = mul(%k, %in)
  %t "t": f32[N,4] = tanh(%ki)
  %t1 "t1": f32[N,4] = add(%t, $one)
  %hx "hx": f32[N,4] = mul(%x, $half)
  %g "g": f32[N,4] = mul(%hx, %t1)
  %s "s": f32[N,4] = sigmoid(%g)
  %y "y": f32[N,4] = mul(%g, %s)
  return %y
}
