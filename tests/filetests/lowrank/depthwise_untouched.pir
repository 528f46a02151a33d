; passes: lowrank{by=size,value=0.1,variant=plain},dce
; run: equivalent
; A depthwise 3x3 conv (group = channels) is left whole, and the note says so.
graph @lab(%x "x": f32[N,4,5,5]) -> (f32[N,4,5,5]) {
  $w "dw.weight": f32[4,1,3,3] = [-0.26687, -1.4763, -1.9326, 0.21103, -1.0138, -0.2195, 1.9382, -0.27944, 1.9664, 0.31566, -1.0508, 0.56938, 1.0784, 0.76261, -0.66049, -1.0378, 0.83675, 1.8205, 1.6995, -0.33944, -0.213, 0.27894, 1.0821, 0.45093, 0.44603, 0.035487, -2.5168, -1.1502, 0.18447, -1.4673, 2.0265, -0.73466, 0.69655, 0.95496, 1.1574, -1.0733]
  $b "dw.bias": f32[4] = [-0.13045, 1.5357, 0.1232, 0.85316]
  %y "y": f32[N,4,5,5] = conv(%x, $w, $b) {auto_pad="NOTSET", kernel_shape=[3,3], strides=[1,1], pads=[1,1,1,1], dilations=[1,1], group=4}
  return %y
}
