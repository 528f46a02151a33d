; passes: prune-structured{ratio=0.5},dce
; run: equivalent
; A grouped conv (2 groups of 2) between two convs: every group must keep the
; same counts, so input channel j of each group goes together ({1,3} here),
; and so does output channel j ({1,3}). Both are dead: removing them is
; exact and the conv keeps 2 groups of 1.
graph @lab(%x "x": f32[N,2,3,3]) -> (f32[N,2,3,3]) {
  $w1 "w1": f32[4,2,1,1] = [1.0, 0.5, 0.0, 0.0, -1.0, 2.0, 0.0, 0.0]
  $wg "wg": f32[4,2,1,1] = [1.5, 0.0, 0.0, 0.0, -0.5, 0.0, 0.0, 0.0]
  $bg "bg": f32[4] = [0.1, 0.0, -0.2, 0.0]
  $w2 "w2": f32[2,4,1,1] = [1.0, 0.0, 2.0, 0.0, -1.0, 0.0, 0.5, 0.0]
  %a "a": f32[N,4,3,3] = conv(%x, $w1) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %r "r": f32[N,4,3,3] = relu(%a)
  %g "g": f32[N,4,3,3] = conv(%r, $wg, $bg) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=2}
  %y "y": f32[N,2,3,3] = conv(%g, $w2) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  return %y
}
