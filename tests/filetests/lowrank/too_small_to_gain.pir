; passes: lowrank{by=energy,value=0.95,variant=plain},dce
; run: equivalent
; A full-rank 2x3 weight: any rank that keeps 95 % of the energy costs more
; than the layer (r·(K+N) >= K·N), so it is left alone and the note says why.
graph @lab(%x "x": f32[N,2]) -> (f32[N,3]) {
  $w "w": f32[2,3] = [1.0, 0.0, 0.5, 0.0, 1.0, -0.5]
  %y "y": f32[N,3] = matmul(%x, $w)
  return %y
}
