; passes: quantize{scheme=int8,calib=random:32:5},bias-correct{calib=random:1024:5}
; run: within 0.05 floats=0..1
; Bias correction measures each quantized layer's mean output error against the
; float graph `quantize` kept, on 1024 seeded samples (a head sees one value a
; sample: fewer would count as noise unless significant), and folds it into the
; int32 bias.
graph @bias_correct(%x "x": f32[N,3]) -> (f32[N,2]) {
  $w "w": f32[2,3] = [0.1, -0.5, 0.25, 1.0, 0.3, -0.75]
  $b "b": f32[2] = [0.3, -0.1]
  %y "y": f32[N,2] = gemm(%x, $w, $b) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  return %y
}
