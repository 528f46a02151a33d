; passes: sparse-encode
; run: equivalent
; int8 and int4 weight codes, half of them zero, are stored sparse: int8 64 ->
; 8 + 32 bytes, int4 (packed nibbles of the non-zeros) 32 -> 8 + 16 bytes. The
; small float scales and bias stay dense. Values, and so outputs, are unchanged.
graph @int8_int4_codes(%x "x": f32[N,16]) -> (f32[N,4]) {
  $w8 "fc1.weight_q": i8[4,16] !q(bits=8, signed=true, axis=0, scale=[0.01749415509402752, 0.013459787704050541, 0.018727833405137062, 0.013533798977732658], zp=[0, 0, 0, 0]) = [-53, 0, 0, -11, -64, 100, 0, 103, 0, 28, 1, 39, -80, -110, 0, 0, 0, 126, 125, 43, -45, 114, 82, 0, -84, 44, 0, -30, -95, 0, 0, -60, 0, -72, -44, 0, 0, 0, 0, 0, 0, 57, 0, 0, -40, -62, 0, 0, 36, 0, 0, -49, 0, 0, -31, 0, 5, 0, -91, 0, 0, 0, 29, 0]
  $s8 "fc1.weight_scale": f32[4] = [0.01749415509402752, 0.013459787704050541, 0.018727833405137062, 0.013533798977732658]
  $w4 "fc2.weight_q": i8[4,16] !q(bits=4, signed=true, axis=0, scale=[0.05554174259305, 0.15705859661102295, 0.1487971544265747, 0.16182075440883636], zp=[0, 0, 0, 0]) = [0, 0, 0, 0, 6, 0, 4, 3, 5, -3, 0, 0, 0, 0, 0, 0, 1, 7, -6, -5, 4, 0, 0, 4, 0, 0, -1, -5, -2, -5, -1, -7, 0, 1, 0, 5, 0, 0, 0, 3, 0, 0, 0, 3, -2, -1, -6, 0, -4, 0, 0, 0, 0, 5, 3, 6, 0, 3, 0, 0, -2, 1, -1, 0]
  $s4 "fc2.weight_scale": f32[4] = [0.05554174259305, 0.15705859661102295, 0.1487971544265747, 0.16182075440883636]
  $b "b": f32[4] = [0.1, -0.2, 0.3, 0.0]
  %d8 "d8": f32[4,16] = dequantize_linear($w8, $s8) {axis=0, block_size=0}
  %d4 "d4": f32[4,16] = dequantize_linear($w4, $s4) {axis=0, block_size=0}
  %h "h": f32[N,4] = gemm(%x, %d8, $b) "fc1" {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  %g "g": f32[N,4] = gemm(%x, %d4) "fc2" {alpha=1.0, beta=1.0, trans_a=false, trans_b=true}
  %y "y": f32[N,4] = add(%h, %g)
  return %y
}
