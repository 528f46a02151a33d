; verify-error: arity
; relu takes one input.
graph @v_arity(%x "x": f32[4], %z "z": f32[4]) -> (f32[4]) {
  %y "y": f32[4] = relu(%x, %z)
  return %y
}
