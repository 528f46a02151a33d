; passes: quantize{scheme=int8,calib=random:32:1}
; run: within 0.05 floats=0..1
; Degenerate weight channels (issue 12): in the 1x1 conv, channel 1 is all zero,
; channel 2 all denormal (the PaddleOCR case: its scale was denormal and its
; bias scale s_x*s_w not representable), channel 3 constant; the depthwise conv
; repeats them. Each dead channel gets zero codes and the smallest weight scale
; that keeps s_x*s_w normal, its multiplier representable and its bias within
; int32 (raised for biases larger than the output step), so the bias survives.
graph @int8_dead_channels(%x "x": f32[N,2,4,4]) -> (f32[N,5,4,4]) {
  $w1 "w1": f32[5,2,1,1] = [0.5, -0.25, 0.0, 0.0, 3.0e-39, -2.5e-39, 0.4, 0.4, 0.3, 0.6]
  $b1 "b1": f32[5] = [0.1, 0.3, -0.2, 0.05, -0.1]
  $w2 "w2": f32[5,1,3,3] = [0.1, -0.2, 0.3, 0.05, 0.5, -0.1, 0.2, 0.0, -0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0e-39, -1.0e-39, 2.0e-39, 1.0e-40, 0.0, -3.0e-39, 1.0e-39, 1.0e-39, -1.0e-39, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, -0.2, 0.1, 0.0, 0.3, -0.4, 0.2, 0.1, -0.1, 0.25]
  $b2 "b2": f32[5] = [0.05, 0.2, 0.0, -0.1, 0.15]
  %c1 "c1": f32[N,5,4,4] = conv(%x, $w1, $b1) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %c2 "c2": f32[N,5,4,4] = conv(%c1, $w2, $b2) {auto_pad="NOTSET", kernel_shape=[3,3], strides=[1,1], pads=[1,1,1,1], dilations=[1,1], group=5}
  return %c2
}
