; passes: prune-structured{ratio=0.5},dce
; run: equivalent
; Nothing can go: the conv's channels are added to the graph input (values
; from no prunable layer). The graph is left as it was and the report says why.
graph @lab(%x "x": f32[N,2,2,2]) -> (f32[N,2,2,2]) {
  $w "w": f32[2,2,1,1] = [1.0, 2.0, 3.0, 4.0]
  %c "c": f32[N,2,2,2] = conv(%x, $w) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %y "y": f32[N,2,2,2] = add(%c, %x)
  return %y
}
