; passes: lowrank{by=energy,value=0.999,variant=plain},dce
; run: equivalent
; A 3x3 conv [4, 3, 3, 3] whose weight, rearranged as [(in, row), (out, col)],
; has rank 2 exactly (small multiples of 1/8), with a vertical stride,
; asymmetric padding and a horizontal dilation: spatial separation at that
; (full) rank gives a 3x1 conv to 2 channels (stride, top/bottom padding) and a
; 1x3 conv (left/right padding, dilation, bias) that compute exactly the
; original conv. Tucker-2 at the same energy would not shrink it, so spatial
; is chosen.
graph @lab(%x "x": f32[N,3,7,8]) -> (f32[N,4,4,6]) {
  $w "conv.weight": f32[4,3,3,3] = [0.25, 0.875, -1, 1.25, -0.625, 0, 0, 0, 0, -0.5, 0.125, 0.125, -1.5, 0.375, 0.375, 0.25, -1, 0.875, -0.25, -0.25, 0.375, 0, -1.875, 1.875, 0, -1.875, 1.875, -0.125, 0.5, -0.25, -0.625, -0.5, 0.75, 0, 0, 0, 0.25, 0.125, -0.25, 0.75, 0.375, -0.75, -0.125, -0.625, 0.5, 0.125, -0.125, 0, 0, -1.125, 0.75, 0, -1.125, 0.75, 0, 0.25, 0, 1, 0.25, 1, 0, 0, 0, -0.375, -0.125, -0.375, -1.125, -0.375, -1.125, 0.375, -0.125, 0.375, -0.125, -0.125, -0.125, 0.375, -0.375, 0.375, 0.375, -0.375, 0.375, -0.375, 0.5, 0.375, -1.875, 1.5, -1.125, 0, 0, 0, 0.75, -0.625, 0.375, 2.25, -1.875, 1.125, -0.375, 0.125, -0.75, 0.375, -0.375, 0, 0, -0.375, -1.125, 0, -0.375, -1.125]
  $b "conv.bias": f32[4] = [-1.853, 0.58842, -0.4308, -0.77792]
  %y "y": f32[N,4,4,6] = conv(%x, $w, $b) {auto_pad="NOTSET", kernel_shape=[3,3], strides=[2,1], pads=[1,0,1,2], dilations=[1,2], group=1}
  return %y
}
