; pass: fuse-activations
; run: equivalent tol=1e-5
; run: equivalent N=4 seed=2 floats=-8..8
; * y1, torch.onnx of x * relu6(x + 3) / 6: Add 3, Clip(0, 6), Mul x, Div 6;
; * y2, tf2onnx of x * relu6(x + 3) * (1/6) with relu6 as Min(Max(·, 0), 6)
;   and the 1/6 on the clip first;
; * y3, x · HardSigmoid(x) with alpha 1/6, beta 1/2 (Keras hard_swish);
; * y4, clip(x + 3, 0, 6) / 6 alone: HardSigmoid(1/6, 1/2);
; * y5, Clip(0.2·x + 0.5, 0, 1) (Keras hard_sigmoid): HardSigmoid(0.2, 0.5);
; * y6, x · Min(Relu(x + 3), 6) / 6 (relu6 as Relu then Min).
graph @hard(%a "a": f32[N,4], %b "b": f32[N,4], %c "c": f32[N,4], %d "d": f32[N,4], %e "e": f32[N,4], %f "f": f32[N,4]) -> (f32[N,4], f32[N,4], f32[N,4], f32[N,4], f32[N,4], f32[N,4]) {
  $three "three": f32[] = [3.0]
  $zero "zero": f32[] = [0.0]
  $six "six": f32[] = [6.0]
  $sixth "sixth": f32[] = [0.16666667]
  $one "one": f32[] = [1.0]
  $p2 "p2": f32[] = [0.2]
  $p5 "p5": f32[] = [0.5]
  %a3 "a3": f32[N,4] = add(%a, $three)
  %ac "a_clip": f32[N,4] = clip(%a3, $zero, $six)
  %am "a_mul": f32[N,4] = mul(%a, %ac)
  %y1 "y1": f32[N,4] = div(%am, $six)
  %b3 "b3": f32[N,4] = add($three, %b)
  %bmx "b_max": f32[N,4] = max(%b3, $zero)
  %bmn "b_min": f32[N,4] = min(%bmx, $six)
  %bs "b_scaled": f32[N,4] = mul(%bmn, $sixth)
  %y2 "y2": f32[N,4] = mul(%b, %bs)
  %ch "c_hs": f32[N,4] = hard_sigmoid(%c) {alpha=0.16666667, beta=0.5}
  %y3 "y3": f32[N,4] = mul(%ch, %c)
  %d3 "d3": f32[N,4] = add(%d, $three)
  %dc "d_clip": f32[N,4] = clip(%d3, $zero, $six)
  %y4 "y4": f32[N,4] = div(%dc, $six)
  %e2 "e2": f32[N,4] = mul(%e, $p2)
  %e5 "e5": f32[N,4] = add(%e2, $p5)
  %y5 "y5": f32[N,4] = clip(%e5, $zero, $one)
  %f3 "f3": f32[N,4] = add(%f, $three)
  %fr "f_relu": f32[N,4] = relu(%f3)
  %fm "f_min": f32[N,4] = min(%fr, $six)
  %fx "f_mul": f32[N,4] = mul(%fm, %f)
  %y6 "y6": f32[N,4] = div(%fx, $six)
  return %y1, %y2, %y3, %y4, %y5, %y6
}
