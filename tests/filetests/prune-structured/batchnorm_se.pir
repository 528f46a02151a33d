; passes: prune-structured{ratio=0.3},dce
; run: equivalent
; BatchNormalization parameters (one per channel, on axis 1) and a
; squeeze-excite gate (global pool, 1×1 conv, sigmoid, Mul back onto the
; channels) follow the conv's channels: its dead channel 2 goes from the
; conv, the four BN vectors, the gate's conv and the consumer.
graph @lab(%x "x": f32[N,2,2,2]) -> (f32[N,2,2,2]) {
  $w1 "w1": f32[3,2,1,1] = [1.0, 0.5, -1.0, 2.0, 0.0, 0.0]
  $s "bn.scale": f32[3] = [1.5, 0.5, 2.0]
  $b "bn.bias": f32[3] = [0.1, -0.2, 0.0]
  $m "bn.mean": f32[3] = [0.3, 0.1, 0.0]
  $v "bn.var": f32[3] = [1.0, 2.0, 0.5]
  $ws "se.w": f32[3,3,1,1] = [0.5, -0.5, 0.0, 1.0, 0.25, 0.0, 0.0, 0.0, 0.0]
  $bs "se.b": f32[3] = [0.1, 0.2, -9.0]
  $w2 "w2": f32[2,3,1,1] = [1.0, -1.0, 0.0, 0.5, 2.0, 0.0]
  %a "a": f32[N,3,2,2] = conv(%x, $w1) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %n "n": f32[N,3,2,2] = batch_normalization(%a, $s, $b, $m, $v) {epsilon=1e-5}
  %p "p": f32[N,3,1,1] = global_average_pool(%n)
  %g0 "g0": f32[N,3,1,1] = conv(%p, $ws, $bs) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %g "g": f32[N,3,1,1] = sigmoid(%g0)
  %e "e": f32[N,3,2,2] = mul(%n, %g)
  %y "y": f32[N,2,2,2] = conv(%e, $w2) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  return %y
}
