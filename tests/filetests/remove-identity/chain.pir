; pass: remove-identity
; run: equivalent
; identity and dropout between two ops are bypassed.
graph @ri_chain(%x "x": f32[2,3]) -> (f32[2,3]) {
  %a "a": f32[2,3] = relu(%x)
  %b "b": f32[2,3] = identity(%a)
  %c "c": f32[2,3] = dropout(%b)
  %y "y": f32[2,3] = neg(%c)
  return %y
}
