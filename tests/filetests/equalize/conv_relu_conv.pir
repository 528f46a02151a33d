; pass: equalize
; run: equivalent
; Channel 0 of the first conv has weights 100x those of channel 1: equalization
; scales them toward each other and the second conv's input channels inversely
; (relu commutes with a positive scale), so the function is unchanged.
graph @cle(%x "x": f32[N,2,3,3]) -> (f32[N,2,3,3]) {
  $w1 "w1": f32[2,2,1,1] = [10.0, -20.0, 0.1, 0.2]
  $b1 "b1": f32[2] = [1.0, 0.01]
  $w2 "w2": f32[2,2,1,1] = [0.05, 3.0, -0.02, 4.0]
  $b2 "b2": f32[2] = [0.0, 0.5]
  %c1 "c1": f32[N,2,3,3] = conv(%x, $w1, $b1) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %r "r": f32[N,2,3,3] = relu(%c1)
  %c2 "c2": f32[N,2,3,3] = conv(%r, $w2, $b2) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  return %c2
}
