; passes: lowrank{by=error,value=1e-6,calib=random:64:1},dce
; run: within 1e-4
; A MatMul of a [N,3,6] activation by a rank-2 weight: the data-aware SVD
; (whitened by the calibration inputs' Gram matrix) finds rank 2 within the
; error budget, and the factorized pair reproduces the output.
graph @lab(%x "x": f32[N,3,6]) -> (f32[N,3,5]) {
  $w "proj": f32[6,5] = [0.443531, -0.061688, -0.531227, -0.062119, 0.243015, -1.69564, 0.323844, -0.543841, -1.10834, -1.25071, 0.509826, -0.127196, 1.03613, 0.789364, 0.485059, -0.965993, 0.155608, 0.535197, -0.18972, -0.606955, -1.19203, 0.334425, -3.50582, -2.41183, -1.26945, -1.72924, 0.332955, -0.633404, -1.17149, -1.28533]
  %y "y": f32[N,3,5] = matmul(%x, $w)
  return %y
}
