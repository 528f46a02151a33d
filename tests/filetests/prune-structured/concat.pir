; passes: prune-structured{ratio=0.3,keep=p},dce
; run: equivalent
; Two convs concatenated along channels, then split back (2 + 3) and added
; to each other's halves: the split sizes and the concat offsets shift when
; channel 1 of the second conv (dead) goes; the consumer loses input 3.
graph @lab(%x "x": f32[N,2,2,2]) -> (f32[N,2,2,2]) {
  $a1 "a1": f32[2,2,1,1] = [0.11, -1.59, -0.24, -0.85]
  $a2 "a2": f32[3,2,1,1] = [0.88, -0.77, 0, 0, -0.31, -0.6]
  $g "g": f32[2,5,1,1] = [0.19, -0, -0.99, 0, 2.02, -0.26, -0.2, -1.04, 0, -1.25]
  %p "p": f32[N,2,2,2] = conv(%x, $a1) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %q "q": f32[N,3,2,2] = conv(%x, $a2) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %c "c": f32[N,5,2,2] = concat(%p, %q) {axis=1}
  %r "r": f32[N,5,2,2] = relu(%c)
  %y "y": f32[N,2,2,2] = conv(%r, $g) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  return %y
}
