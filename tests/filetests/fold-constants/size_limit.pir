; passes: fold-constants,dce
; set: fold_size_limit=64
; run: equivalent
; A 4x8 f32 constant (128 bytes) exceeds the 64-byte limit and its 16-byte input: kept.
; A 2x2 one (16 bytes) is under the limit: folded.
graph @fc_limit(%x "x": f32[4,8], %z "z": f32[2,2]) -> (f32[4,8], f32[2,2]) {
  $big "big_shape": i64[2] = [4, 8]
  $small "small_shape": i64[2] = [2, 2]
  %c "c": f32[4,8] = constant_of_shape($big) {dtype=f32, value=1.5}
  %d "d": f32[2,2] = constant_of_shape($small) {dtype=f32, value=2.0}
  %y "y": f32[4,8] = add(%x, %c)
  %w "w": f32[2,2] = add(%z, %d)
  return %y, %w
}
