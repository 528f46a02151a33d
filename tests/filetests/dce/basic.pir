; pass: dce
; run: equivalent
; A dead chain and the weight only it used disappear; the live path stays.
graph @dce_basic(%x "x": f32[4]) -> (f32[4]) {
  $w "w": f32[4] = [1.0, 2.0, 3.0, 4.0]
  %a "a": f32[4] = mul(%x, $w)
  %b "b": f32[4] = relu(%a)
  %y "y": f32[4] = neg(%x)
  return %y
}
