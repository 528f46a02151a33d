; pipeline: cleanup
; run: equivalent tol=1e-5
; run: equivalent N=3 seed=5 floats=-4..4
; paddle2onnx's layer_norm mapper (begin_norm_axis=1, opset < 17) as it writes
; it: ReduceMean over axes [1, 2], Sub, Pow 2 (a [1] constant), ReduceMean,
; Add eps (a [1] constant), Sqrt, Div, and the scale and bias reshaped to the
; normalized shape read from the input (Shape, Slice) before Mul and Add.
; Cleanup folds the shape chain, then fuse-layer-norm makes one LayerNorm.
graph @ln_paddle(%x "x": f32[N,2,3]) -> (f32[N,2,3]) {
  $axes "axes": i64[2] = [1, 2]
  $two "two": f32[1] = [2.0]
  $eps "eps": f32[1] = [1e-5]
  $w "scale": f32[6] = [1.0, 2.0, 3.0, -1.0, 0.5, 0.25]
  $b "bias": f32[6] = [0.0, 0.5, 1.0, 1.5, -2.0, 4.0]
  $st "starts": i64[1] = [1]
  $en "ends": i64[1] = [3]
  $ax0 "slice_axes": i64[1] = [0]
  %m "mean": f32[N,1,1] = reduce_mean(%x, $axes) {keepdims=true, noop_with_empty_axes=false}
  %d "numerator": f32[N,2,3] = sub(%x, %m)
  %p "pow": f32[N,2,3] = pow(%d, $two)
  %v "variance": f32[N,1,1] = reduce_mean(%p, $axes) {keepdims=true, noop_with_empty_axes=false}
  %ve "add_eps": f32[N,1,1] = add(%v, $eps)
  %s "denominator": f32[N,1,1] = sqrt(%ve)
  %sh "ipt_shape": i64[3] = shape(%x) {start=0}
  %ws "weight_shape": i64[2] = slice(%sh, $st, $en, $ax0)
  %wr "scale_reshaped": f32[2,3] = reshape($w, %ws) {allowzero=false}
  %br "bias_reshaped": f32[2,3] = reshape($b, %ws) {allowzero=false}
  %n "layer_norm_pre": f32[N,2,3] = div(%d, %s)
  %g "layer_norm": f32[N,2,3] = mul(%n, %wr)
  %y "y": f32[N,2,3] = add(%g, %br)
  return %y
}
