; verify-error: types
; A transpose's declared output type disagrees with what inference gives.
graph @v_types(%x "x": f32[N,3]) -> (f32[N,3]) {
  %y "y": f32[N,3] = transpose(%x) {perm=[1,0]}
  return %y
}
