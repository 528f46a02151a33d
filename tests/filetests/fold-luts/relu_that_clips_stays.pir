; pass: fold-luts
; run: equivalent
; Zero point 0: codes below 0 are negative reals, so the relu's table is not the
; identity and the node stays.
graph @relu_kept(%x "x": f32[N,4]) -> (f32[N,4]) {
  $s "s": f32[] = [0.1]
  $z "z": i8[] = [0]
  %q "q": i8[N,4] !q(bits=8, signed=true, scale=[0.1], zp=[0]) = quantize_linear(%x, $s, $z) {axis=1, saturate=true, block_size=0}
  %r "r": i8[N,4] !q(bits=8, signed=true, scale=[0.1], zp=[0]) = relu(%q)
  %y "y": f32[N,4] = dequantize_linear(%r, $s, $z) {axis=1, block_size=0}
  return %y
}
