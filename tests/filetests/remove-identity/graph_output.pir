; pass: remove-identity
; run: equivalent
; The identity's output is a graph output: its producer takes over the name "y".
graph @ri_output(%x "x": f32[4]) -> (f32[4]) {
  %a "a": f32[4] = relu(%x)
  %y "y": f32[4] = identity(%a)
  return %y
}
