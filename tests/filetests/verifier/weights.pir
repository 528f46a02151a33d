; verify-error: weights
; The value declares f32[3] over a stored f32[4] weight.
graph @v_weights(%x "x": f32[3]) -> (f32[3]) {
  $w "w": f32[3] = f32[4] [1.0, 2.0, 3.0, 4.0]
  %y "y": f32[3] = add(%x, $w)
  return %y
}
