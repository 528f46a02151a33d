; passes: quantize{scheme=int8,calib=random:32:1}
; run: within 0.05 floats=0..1
; Full-integer int8 from 32 seeded uniform samples: the gemm runs on int8 codes
; with an int32 bias, the relu folds into the gemm's saturation, and the graph
; keeps one quantize at the input and one dequantize at the output.
graph @int8_gemm(%x "x": f32[N,3]) -> (f32[N,2]) {
  $w "w": f32[2,3] = [0.1, -0.5, 0.25, 1.0, 0.3, -0.75]
  $b "b": f32[2] = [0.3, -0.1]
  %g "g": f32[N,2] = gemm(%x, $w, $b) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  %y "y": f32[N,2] = relu(%g)
  return %y
}
