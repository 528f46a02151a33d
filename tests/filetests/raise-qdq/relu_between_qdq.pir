; passes: raise-qdq,dce
; run: equivalent
; A relu between a dequantize and a quantize with equal parameters becomes a
; quantized relu on the int8 codes (an exact table), and the inner
; dequantize/quantize pair goes: the same function, now in integers.
graph @qdq_relu(%x "x": f32[N,4]) -> (f32[N,4]) {
  $s "s": f32[] = [0.05]
  $z "z": i8[] = [0]
  %q "q": i8[N,4] = quantize_linear(%x, $s, $z) {axis=1, saturate=true, block_size=0}
  %d "d": f32[N,4] = dequantize_linear(%q, $s, $z) {axis=1, block_size=0}
  %r "r": f32[N,4] = relu(%d)
  %q2 "q2": i8[N,4] = quantize_linear(%r, $s, $z) {axis=1, saturate=true, block_size=0}
  %y "y": f32[N,4] = dequantize_linear(%q2, $s, $z) {axis=1, block_size=0}
  return %y
}
