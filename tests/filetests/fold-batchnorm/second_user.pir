; passes: fold-batchnorm,dce
; run: equivalent
; The conv output is also used by relu: folding would change what relu sees. Kept.
graph @bn_shared(%x "x": f32[1,2,3,3]) -> (f32[1,2,3,3], f32[1,2,3,3]) {
  $w "conv.weight": f32[2,2,1,1] = [1.0, 2.0, 3.0, 4.0]
  $g "gamma": f32[2] = [1.0, 2.0]
  $be "beta": f32[2] = [0.5, -0.5]
  $mu "mean": f32[2] = [0.0, 1.0]
  $var "var": f32[2] = [1.0, 4.0]
  %c "c": f32[1,2,3,3] = conv(%x, $w, _) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %y "y": f32[1,2,3,3] = batch_normalization(%c, $g, $be, $mu, $var) {epsilon=0.0}
  %r "r": f32[1,2,3,3] = relu(%c)
  return %y, %r
}
