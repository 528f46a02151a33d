; passes: lowrank{by=energy,value=0.99,variant=plain},dce
; run: equivalent
; A 3x3 conv [2, 2, 3, 3] with a full-rank weight: neither Tucker-2 nor
; spatial separation at 99 % of the energy has fewer params and MACs than the
; conv, so it is left alone and the note gives both methods' figures.
graph @lab(%x "x": f32[N,2,4,4]) -> (f32[N,2,4,4]) {
  $w "conv.weight": f32[2,2,3,3] = [0.5, -1.25, 0.75, 2.0, -0.5, 1.5, -2.25, 0.25, 1.0, -0.75, 1.75, -1.5, 0.125, 2.5, -1.0, 0.625, -0.375, 1.25, 1.5, 0.25, -2.0, -0.625, 1.125, 0.875, -1.75, 0.375, 2.25, -0.25, -1.125, 0.5, 1.875, -2.5, 0.75, -0.875, 1.0, -1.375]
  $b "conv.bias": f32[2] = [0.1, -0.2]
  %y "y": f32[N,2,4,4] = conv(%x, $w, $b) {auto_pad="NOTSET", kernel_shape=[3,3], strides=[1,1], pads=[1,1,1,1], dilations=[1,1], group=1}
  return %y
}
