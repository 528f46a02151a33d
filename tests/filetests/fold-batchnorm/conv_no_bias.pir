; passes: fold-batchnorm,dce
; run: equivalent
; s = gamma/sqrt(var+eps) = [2, 1]; w' = w*s per output channel (first row doubled);
; a bias b' = (0 - mean)*s + beta = [0.5, -1.5] is added.
graph @bn_conv(%x "x": f32[N,2,3,3]) -> (f32[N,2,3,3]) {
  $w "conv.weight": f32[2,2,1,1] = [1.0, 2.0, 3.0, 4.0]
  $g "gamma": f32[2] = [2.0, 2.0]
  $be "beta": f32[2] = [0.5, -0.5]
  $mu "mean": f32[2] = [0.0, 1.0]
  $var "var": f32[2] = [1.0, 4.0]
  %c "c": f32[N,2,3,3] = conv(%x, $w, _) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %y "y": f32[N,2,3,3] = batch_normalization(%c, $g, $be, $mu, $var) {epsilon=0.0}
  return %y
}
