; passes: explicit-qdq{calib=random:64:3:uniform}
; run: within 0.15
; A residual block as TensorRT wants it quantized: both convs read int8
; weights per output channel and a zero-point-0 Q/DQ pair on their input; the
; residual add reads the second conv's output raw (the engine fuses the add
; into that conv) and the residual, the block's input, through the pair the
; first conv reads; the conv and add outputs stay float. The run draws inputs
; in [-1, 1], wider than the [0, 1) calibration data, so the first conv's
; output is clipped at its calibrated range here and there (hence 0.15).
graph @lab(%x "x": f32[N,2,4,4]) -> (f32[N,2,4,4]) {
  $w1 "c1.weight": f32[2,2,3,3] = [0.12, -0.31, 0.05, 0.22, -0.08, 0.17, -0.26, 0.09, 0.14, -0.19, 0.28, 0.03, -0.11, 0.24, -0.06, 0.15, -0.21, 0.07, 0.18, -0.04, 0.27, -0.13, 0.02, 0.21, -0.16, 0.11, -0.29, 0.06, 0.19, -0.24, 0.08, -0.02, 0.25, -0.17, 0.13, 0.04]
  $b1 "c1.bias": f32[2] = [0.05, -0.03]
  $w2 "c2.weight": f32[2,2,1,1] = [0.6, -0.4, 0.3, 0.8]
  %y "y": f32[N,2,4,4] = conv(%x, $w1, $b1) {auto_pad="NOTSET", kernel_shape=[3,3], strides=[1,1], pads=[1,1,1,1], dilations=[1,1], group=1}
  %r "r": f32[N,2,4,4] = relu(%y)
  %z "z": f32[N,2,4,4] = conv(%r, $w2) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %s "s": f32[N,2,4,4] = add(%z, %x)
  return %s
}
