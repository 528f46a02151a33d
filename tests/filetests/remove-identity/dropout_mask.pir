; pass: remove-identity
; run: equivalent
; The first dropout's mask is used and fully known: it becomes an all-true weight.
; The second's mask has a symbolic shape, so that dropout stays.
graph @ri_mask(%x "x": f32[2,2], %z "z": f32[N,2]) -> (f32[2,2], bool[2,2], bool[N,2]) {
  %y "y": f32[2,2], %m "mask": bool[2,2] = dropout(%x)
  %r "r": f32[2,2] = relu(%y)
  %y2 "y2": f32[N,2], %m2 "mask2": bool[N,2] = dropout(%z)
  return %r, %m, %m2
}
