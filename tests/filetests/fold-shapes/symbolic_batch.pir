; pipeline: cleanup
; run: equivalent
; run: equivalent N=5 seed=11
; PyTorch's flatten with a dynamic batch: shape → gather → unsqueeze → concat →
; reshape. The batch symbol sits where the input has it, so it becomes 0 (copy)
; and the whole chain dies.
graph @fs_flatten(%x "x": f32[N,3,4]) -> (f32[N,12]) {
  $zero "zero": i64[] = [0]
  $axes "axes": i64[1] = [0]
  $m "m": i64[1] = [-1]
  %s "s": i64[3] = shape(%x) {start=0}
  %b "b": i64[] = gather(%s, $zero) {axis=0}
  %bu "bu": i64[1] = unsqueeze(%b, $axes)
  %t "target": i64[2] = concat(%bu, $m) {axis=0}
  %y "y": f32[N,12] = reshape(%x, %t) {allowzero=false}
  return %y
}
