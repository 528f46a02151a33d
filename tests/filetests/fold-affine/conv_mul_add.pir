; passes: fold-affine,dce
; run: equivalent
; PaddleOCR's learnable affine block: conv → ·a → +b, with a per-channel
; scale [1,2,1,1] and a per-tensor shift. w' = w·a along the output channels,
; b' = b·a + 0.25.
graph @lab(%x "x": f32[N,2,3,3]) -> (f32[N,2,3,3]) {
  $w "conv.weight": f32[2,2,1,1] = [1.0, 2.0, 3.0, 4.0]
  $b "conv.bias": f32[2] = [1.0, 2.0]
  $a "scale": f32[1,2,1,1] = [0.5, -2.0]
  $s "shift": f32[] = [0.25]
  %c "c": f32[N,2,3,3] = conv(%x, $w, $b) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %m "m": f32[N,2,3,3] = mul($a, %c)
  %y "y": f32[N,2,3,3] = add(%m, $s)
  return %y
}
