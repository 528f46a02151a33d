; passes: fold-affine,dce
; run: equivalent
; ConvTranspose (group 2, no bias) then c − x with c per channel [2,1,1]:
; scale −1, shift c.
graph @convt_sub(%x "x": f32[1,2,2,2]) -> (f32[1,2,2,2]) {
  $w "up.weight": f32[2,1,1,1] = [3.0, 5.0]
  $c "c": f32[2,1,1] = [1.0, -1.0]
  %u "u": f32[1,2,2,2] = conv_transpose(%x, $w, _) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=2, output_padding=[0,0], output_shape=[]}
  %y "y": f32[1,2,2,2] = sub($c, %u)
  return %y
}
