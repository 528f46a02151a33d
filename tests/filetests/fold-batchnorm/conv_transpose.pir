; passes: fold-batchnorm,dce
; run: equivalent
; conv_transpose with group=2: weight [C_in=2, M/group=1, 1, 1]; output channel of
; weight row c_in is c_in (one per group), so s scales along axis 0 here.
graph @bn_convt(%x "x": f32[1,2,2,2]) -> (f32[1,2,2,2]) {
  $w "up.weight": f32[2,1,1,1] = [3.0, 5.0]
  $g "gamma": f32[2] = [1.0, 2.0]
  $be "beta": f32[2] = [0.5, -0.5]
  $mu "mean": f32[2] = [0.0, 1.0]
  $var "var": f32[2] = [1.0, 4.0]
  %c "c": f32[1,2,2,2] = conv_transpose(%x, $w, _) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=2, output_padding=[0,0], output_shape=[]}
  %y "y": f32[1,2,2,2] = batch_normalization(%c, $g, $be, $mu, $var) {epsilon=0.0}
  return %y
}
