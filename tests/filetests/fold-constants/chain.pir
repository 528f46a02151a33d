; passes: fold-constants,dce
; run: equivalent
; add → neg of weights fold into one weight named after the last value.
graph @fc_chain(%x "x": f32[3]) -> (f32[3]) {
  $a "a": f32[3] = [1.0, 2.0, 3.0]
  $b "b": f32[3] = [0.5, 0.25, 0.125]
  %s "s": f32[3] = add($a, $b)
  %n "n": f32[3] = neg(%s)
  %y "y": f32[3] = mul(%x, %n)
  return %y
}
