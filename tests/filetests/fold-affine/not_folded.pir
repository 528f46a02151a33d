; passes: fold-affine,dce
; run: equivalent
; Nothing folds: the first conv's output has a second reader, the second's
; constant varies along a spatial axis, and c / x is not affine.
graph @not_folded(%x "x": f32[1,2,2,2]) -> (f32[1,2,2,2], f32[1,2,2,2], f32[1,2,2,2]) {
  $w "conv.weight": f32[2,2,1,1] = [1.0, 2.0, 3.0, 4.0]
  $s "s": f32[2] = [2.0, 3.0]
  $one "one": f32[] = [1.0]
  %c "c": f32[1,2,2,2] = conv(%x, $w) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %a "a": f32[1,2,2,2] = mul(%c, $one)
  %b "b": f32[1,2,2,2] = add(%c, %a)
  %d "d": f32[1,2,2,2] = conv(%x, $w) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %e "e": f32[1,2,2,2] = mul(%d, $s)
  %f "f": f32[1,2,2,2] = conv(%x, $w) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %g "g": f32[1,2,2,2] = div($s, %f)
  return %b, %e, %g
}
