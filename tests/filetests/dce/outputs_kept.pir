; pass: dce
; run: equivalent
; Every graph output is live, including one that is also used by another output's
; producer and one that is a graph input passed through.
graph @dce_outputs(%x "x": f32[4]) -> (f32[4], f32[4], f32[4]) {
  %a "a": f32[4] = relu(%x)
  %b "b": f32[4] = neg(%a)
  %dead: f32[4] = exp(%b)
  return %a, %b, %x
}
