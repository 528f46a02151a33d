; passes: raise-qdq,dce
; run: equivalent
; QDQ around a max pool whose quantizers share parameters: the pool is raised to
; an i8 node reading the input quantizer's codes, and the output dequantizer reads
; it directly. Max pooling of codes is exact, so the results match bit for bit.
graph @rq_pool(%x "x": f32[N,2,4,4]) -> (f32[N,2,2,2]) {
  $s "s": f32[] = [0.0078125]
  $z "z": i8[] = [3]
  %q "xq": i8[N,2,4,4] = quantize_linear(%x, $s, $z) {axis=1, saturate=true, block_size=0}
  %dq "xdq": f32[N,2,4,4] = dequantize_linear(%q, $s, $z) {axis=1, block_size=0}
  %p "p": f32[N,2,2,2] = max_pool(%dq) {auto_pad="NOTSET", kernel_shape=[2,2], strides=[2,2], pads=[0,0,0,0], dilations=[1,1], ceil_mode=false, storage_order=0}
  %pq "pq": i8[N,2,2,2] = quantize_linear(%p, $s, $z) {axis=1, saturate=true, block_size=0}
  %y "y": f32[N,2,2,2] = dequantize_linear(%pq, $s, $z) {axis=1, block_size=0}
  return %y
}
