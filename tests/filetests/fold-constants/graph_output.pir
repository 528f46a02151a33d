; passes: fold-constants,dce
; run: equivalent
; A constant graph output becomes a weight and keeps its name; dequantize_linear of a
; weight is kept (QDQ models carry quantized weights that way).
graph @fc_output(%x "x": f32[2]) -> (i64[3], f32[2]) {
  $a "a": i64[3] = [1, 2, 3]
  $q "q": i8[2] = [3, -4]
  $s "s": f32[] = [0.5]
  %o "out": i64[3] = mul($a, $a)
  %dq "dq": f32[2] = dequantize_linear($q, $s) {axis=1, block_size=0}
  %y "y": f32[2] = add(%x, %dq)
  return %o, %y
}
