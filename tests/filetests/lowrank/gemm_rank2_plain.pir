; passes: lowrank{by=energy,value=0.999,variant=plain},dce
; run: within 1e-5
; A Gemm (trans_b) whose weight has rank 2: plain SVD keeps rank 2 (99.9 %
; of the energy), the layer becomes x·A [6,2] then ·B, and the output is the same.
graph @lab(%x "x": f32[N,6]) -> (f32[N,5]) {
  $w "fc.weight": f32[5,6] = [-0.770879, -0.110028, -3.0218, -0.852801, -2.21548, -4.74819, -0.179233, -0.011991, -0.661392, -0.165868, -0.454931, -1.04106, -0.206108, 0.21105, -0.079166, 0.345467, 0.472383, -0.156379, -0.567865, 0.767638, 0.346061, 1.39579, 2.12576, 0.430887, 1.40615, -0.487613, 3.426, -0.08594, 0.993545, 5.47489]
  $b "fc.bias": f32[5] = [0.545, -0.505, -0.183, 0.541, 1.935]
  %y "y": f32[N,5] = gemm(%x, $w, $b) {alpha=2.0, beta=1.0, trans_a=false, trans_b=true}
  return %y
}
