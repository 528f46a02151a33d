; pipeline: cleanup
; run: equivalent
; run: equivalent N=5 seed=11
; Everything at once: the identity between conv and batch norm goes, the BN folds,
; the constant scale folds, the batch-flatten chain becomes a constant reshape, and
; the dead remains disappear.
graph @cleanup_mixed(%x "x": f32[N,2,3,3]) -> (f32[N,18]) {
  $w "conv.weight": f32[2,2,1,1] = [1.0, 2.0, 3.0, 4.0]
  $g "gamma": f32[2] = [1.0, 2.0]
  $be "beta": f32[2] = [0.5, -0.5]
  $mu "mean": f32[2] = [0.0, 1.0]
  $var "var": f32[2] = [1.0, 4.0]
  $two "two": f32[] = [2.0]
  $half "half": f32[] = [0.5]
  $zero "zero": i64[] = [0]
  $axes "axes": i64[1] = [0]
  $m "m": i64[1] = [-1]
  %c "c": f32[N,2,3,3] = conv(%x, $w, _) {auto_pad="NOTSET", kernel_shape=[1,1], strides=[1,1], pads=[0,0,0,0], dilations=[1,1], group=1}
  %i "i": f32[N,2,3,3] = identity(%c)
  %bn "bn": f32[N,2,3,3] = batch_normalization(%i, $g, $be, $mu, $var) {epsilon=0.0}
  %k "k": f32[] = mul($two, $half)
  %sc "scaled": f32[N,2,3,3] = mul(%bn, %k)
  %s "s": i64[4] = shape(%sc) {start=0}
  %b "b": i64[] = gather(%s, $zero) {axis=0}
  %bu "bu": i64[1] = unsqueeze(%b, $axes)
  %t "target": i64[2] = concat(%bu, $m) {axis=0}
  %y "y": f32[N,18] = reshape(%sc, %t) {allowzero=false}
  return %y
}
