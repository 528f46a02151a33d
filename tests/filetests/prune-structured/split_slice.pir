; passes: prune-structured{ratio=0.5},dce
; run: equivalent
; A conv split in two halves (sizes 2 + 2) that are added (so channel j of
; one half goes with channel j of the other),
; and a slice of the conv itself (channels 0..3): the split sizes, slice bounds and
; the consumers follow the dead class {1, 3}.
graph @lab(%x "x": f32[N,2,2,2]) -> (f32[N,2,2,2], f32[N,2,2,2]) {
  $w1 "w1": f32[4,2,1,1] = [1.0, 0.5, 0.0, 0.0, -1.0, 2.0, 0.0, 0.0]
  $sz "sizes": i64[2] = [2, 2]
  $st "starts": i64[1] = [0]
  $en "ends": i64[1] = [3]
  $ax "axes": i64[1] = [1]
  $w2 "w2": f32[2,2,1,1] = [1.0, 0.0, -0.5, 0.0]
  $w3 "w3": f32[2,3,1,1] = [1.0, 0.0, 2.0, -1.0, 0.0, 0.5]
  %a "a": f32[N,4,2,2] = conv(%x, $w1) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %p: f32[N,2,2,2], %q: f32[N,2,2,2] = split(%a, $sz) {axis=1}
  %s "s": f32[N,2,2,2] = add(%p, %q)
  %y "y": f32[N,2,2,2] = conv(%s, $w2) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %c "c": f32[N,3,2,2] = slice(%a, $st, $en, $ax)
  %z "z": f32[N,2,2,2] = conv(%c, $w3) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  return %y, %z
}
