; passes: prune-structured{ratio=0.25,importance=recon,refit=true,calib=random:64:1},dce
; run: within 1e-4
; recon with refit ranks a channel by the error left once the next layer is
; re-fitted: channel 3 is x0 + x1 (so 0, 1 and 3 can stand in for each
; other) while channel 2 carries x2 alone. L2 would drop channel 2 (its
; weights are the smallest); recon drops one of the others, and the refit
; reproduces the output.
graph @lab(%x "x": f32[N,3,2,2]) -> (f32[N,2,2,2]) {
  $w1 "w1": f32[4,3,1,1] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.3, 1.0, 1.0, 0.0]
  $w2 "w2": f32[2,4,1,1] = [1.0, 2.0, 0.2, 10.0, -1.0, 0.5, 0.1, -10.0]
  $b2 "b2": f32[2] = [0.5, -0.5]
  %a "a": f32[N,4,2,2] = conv(%x, $w1) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %y "y": f32[N,2,2,2] = conv(%a, $w2, $b2) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  return %y
}
