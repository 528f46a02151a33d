; pass: fuse-activations
; run: equivalent floats=-8..8
; * y1: clip(x + 3, 0, 5) / 6 is not a hard sigmoid (its top is 5/6);
; * y2: x · clip(x + 2, 0, 6) / 6 is not HardSwish (shift 2, not 3);
; * y3: a bare Clip(x, 0, 1) stays a clip;
; * y4: x · sigmoid(2·x) is a Swish with beta 2, not SiLU.
graph @not_hard(%a "a": f32[N,4]) -> (f32[N,4], f32[N,4], f32[N,4], f32[N,4]) {
  $three "three": f32[] = [3.0]
  $two "two": f32[] = [2.0]
  $zero "zero": f32[] = [0.0]
  $five "five": f32[] = [5.0]
  $six "six": f32[] = [6.0]
  $one "one": f32[] = [1.0]
  %a3 "a3": f32[N,4] = add(%a, $three)
  %c1 "c1": f32[N,4] = clip(%a3, $zero, $five)
  %y1 "y1": f32[N,4] = div(%c1, $six)
  %a2 "a2": f32[N,4] = add(%a, $two)
  %c2 "c2": f32[N,4] = clip(%a2, $zero, $six)
  %m2 "m2": f32[N,4] = mul(%a, %c2)
  %y2 "y2": f32[N,4] = div(%m2, $six)
  %y3 "y3": f32[N,4] = clip(%a, $zero, $one)
  %t4 "t4": f32[N,4] = mul(%a, $two)
  %s4 "s4": f32[N,4] = sigmoid(%t4)
  %y4 "y4": f32[N,4] = mul(%a, %s4)
  return %y1, %y2, %y3, %y4
}
