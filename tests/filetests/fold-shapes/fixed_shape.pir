; passes: fold-shapes,dce
; run: equivalent
; The shape of a fixed-shape tensor, and a gather of it, are known numbers: the
; reshape's shape becomes a weight and the shape chain dies.
graph @fs_fixed(%x "x": f32[2,3,4]) -> (f32[2,12]) {
  $i "i": i64[1] = [0]
  $m "m": i64[1] = [-1]
  %s "s": i64[3] = shape(%x) {start=0}
  %b "b": i64[1] = gather(%s, $i) {axis=0}
  %t "target": i64[2] = concat(%b, $m) {axis=0}
  %y "y": f32[2,12] = reshape(%x, %t) {allowzero=false}
  return %y
}
