; passes: prune-structured{ratio=0.3},dce
; run: equivalent
; A conv feeding a transposed conv (weight [C_in, C_out, k, k]): the conv's
; dead channel 2 takes row 2 of the transposed conv's weight with it. The
; transposed conv's own channels are the graph output and stay.
graph @lab(%x "x": f32[N,2,2,2]) -> (f32[N,2,3,3]) {
  $w1 "w1": f32[3,2,1,1] = [1.0, 0.5, -1.0, 2.0, 0.0, 0.0]
  $b1 "b1": f32[3] = [0.1, 0.2, 0.0]
  $wt "wt": f32[3,2,2,2] = [1.0, 0.5, -0.5, 0.25, 2.0, -1.0, 0.5, 1.5, 0.3, -0.7, 1.1, 0.4, 0.9, -0.2, 0.6, 1.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
  %a "a": f32[N,3,2,2] = conv(%x, $w1, $b1) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %r "r": f32[N,3,2,2] = relu(%a)
  %y "y": f32[N,2,3,3] = conv_transpose(%r, $wt) {auto_pad="NOTSET", kernel_shape=[2,2], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1, output_padding=[0,0], output_shape=[]}
  return %y
}
