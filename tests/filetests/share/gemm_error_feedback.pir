; passes: share{k=4,gptq=true,calib=random:256:5:uniform}
; run: within 1.5
; Error feedback (GPTQ on the palette) on a Gemm [6, 16] with inputs uniform in
; [0, 1): their uncentred Gram has strong off-diagonals (E[xi xj] = 1/4 against
; E[xi^2] = 1/3), so assigning column by column and pushing each rounding error
; onto the columns still to come lets later weights compensate. The note shows
; the output error on calib well below nearest-centroid assignment's, with the
; same four-entry codebook (2-bit indices).
graph @lab(%x "x": f32[N,16]) -> (f32[N,6]) {
  $w "fc.weight": f32[6,16] = [0.31, -0.72, 0.05, 0.91, -0.44, 0.18, 0.67, -0.29, -0.83, 0.52, 0.12, -0.07, 0.76, -0.61, 0.39, 0.24, -0.15, 0.88, -0.53, 0.33, 0.61, -0.92, 0.08, 0.47, -0.36, 0.71, -0.22, 0.95, -0.68, 0.14, 0.57, -0.41, 0.73, -0.11, 0.26, -0.84, 0.49, 0.03, -0.77, 0.64, 0.19, -0.58, 0.86, -0.31, 0.42, -0.96, 0.11, 0.69, -0.27, 0.54, -0.63, 0.17, 0.92, -0.45, 0.36, -0.09, -0.71, 0.28, 0.81, -0.19, 0.07, 0.63, -0.88, 0.44, 0.58, -0.34, -0.16, 0.79, -0.52, 0.23, 0.97, -0.66, 0.13, 0.41, -0.74, 0.02, -0.49, 0.85, 0.31, -0.28, -0.93, 0.21, 0.66, -0.57, 0.34, -0.12, 0.78, -0.39, 0.06, 0.55, -0.81, 0.47, -0.24, 0.72, -0.65, 0.18]
  $b "fc.bias": f32[6] = [0.1, -0.2, 0.05, 0.3, -0.1, 0.0]
  %y "y": f32[N,6] = gemm(%x, $w, $b) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  return %y
}
