; pass: fuse-gelu
; run: equivalent
; Near misses that must stay as written:
; * y1: 0.6 instead of 0.5 as the outer factor;
; * y2: the erf argument is x·0.8, not x/√2;
; * y3: the tanh output is also read by another output;
; * y4: the tanh argument lacks the cubic term (0.797·x alone).
graph @not_gelu(%a "a": f32[N,4]) -> (f32[N,4], f32[N,4], f32[N,4], f32[N,4], f32[N,4]) {
  $sqrt2 "sqrt2": f32[] = [1.4142135]
  $one "one": f32[] = [1.0]
  $half "half": f32[] = [0.5]
  $bad "bad": f32[] = [0.6]
  $p8 "p8": f32[] = [0.8]
  $c "c": f32[] = [0.044715]
  $k "k": f32[] = [0.7978846]
  %d1 "d1": f32[N,4] = div(%a, $sqrt2)
  %e1 "e1": f32[N,4] = erf(%d1)
  %p1 "p1": f32[N,4] = add(%e1, $one)
  %m1 "m1": f32[N,4] = mul(%a, %p1)
  %y1 "y1": f32[N,4] = mul(%m1, $bad)
  %d2 "d2": f32[N,4] = mul(%a, $p8)
  %e2 "e2": f32[N,4] = erf(%d2)
  %p2 "p2": f32[N,4] = add(%e2, $one)
  %m2 "m2": f32[N,4] = mul(%a, %p2)
  %y2 "y2": f32[N,4] = mul(%m2, $half)
  %a2 "a2": f32[N,4] = mul(%a, %a)
  %a3 "a3": f32[N,4] = mul(%a2, %a)
  %ca3 "ca3": f32[N,4] = mul(%a3, $c)
  %in "in": f32[N,4] = add(%a, %ca3)
  %ki "ki": f32[N,4] = mul(%in, $k)
  %t "t": f32[N,4] = tanh(%ki)
  %t1 "t1": f32[N,4] = add(%t, $one)
  %xt "xt": f32[N,4] = mul(%a, %t1)
  %y3 "y3": f32[N,4] = mul(%xt, $half)
  %k4 "k4": f32[N,4] = mul(%a, $k)
  %t4 "t4": f32[N,4] = tanh(%k4)
  %u4 "u4": f32[N,4] = add(%t4, $one)
  %x4 "x4": f32[N,4] = mul(%a, %u4)
  %y4 "y4": f32[N,4] = mul(%x4, $half)
  return %y1, %y2, %y3, %t, %y4
}
