; passes: prune-structured{ratio=0.25,refit=true,calib=random:64:1},dce
; run: within 1e-4
; Channel 3 of the first conv is 0.1·(channel 0 + channel 1) and the
; smallest (L2), so it goes; with nothing non-linear between the convs, the
; least-squares refit of the second conv moves its share onto channels 0
; and 1 and the output is reproduced (without refit it is off by ~0.02·|x|).
graph @lab(%x "x": f32[N,2,4,4]) -> (f32[N,2,4,4]) {
  $w1 "w1": f32[4,2,1,1] = [1.0, 0.0, 0.0, 1.0, 1.0, -1.0, 0.1, 0.1]
  $w2 "w2": f32[2,4,1,1] = [1.0, 2.0, 3.0, 0.2, -1.0, 0.5, 1.0, -0.2]
  $b2 "b2": f32[2] = [0.5, -0.5]
  %a "a": f32[N,4,4,4] = conv(%x, $w1) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %y "y": f32[N,2,4,4] = conv(%a, $w2, $b2) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  return %y
}
