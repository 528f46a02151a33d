; pass: remove-identity
; run: equivalent
; An identity from a graph input to a graph output, and one from an output to another
; output, must stay: removing either would rename part of the model's interface.
graph @ri_keep(%x "x": f32[4]) -> (f32[4], f32[4], f32[4]) {
  %y "y": f32[4] = identity(%x)
  %a "a": f32[4] = relu(%x)
  %b "b": f32[4] = identity(%a)
  return %y, %a, %b
}
