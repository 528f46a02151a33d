; pass: fuse-layer-norm
; run: equivalent tol=1e-5
; run: equivalent N=3 seed=5 floats=-4..4
; Keras LayerNormalization through tf.nn.moments and tf.nn.batch_normalization,
; as tf2onnx writes it: SquaredDifference becomes Sub + Mul(d, d), Rsqrt becomes
; Sqrt + Reciprocal, and the output is x·inv + (beta − mean·inv), inv = rsqrt·gamma.
graph @ln_tf(%x "x": f32[N,5,4]) -> (f32[N,5,4]) {
  $axes "axes": i64[1] = [2]
  $eps "eps": f32[] = [1e-3]
  $gamma "gamma": f32[4] = [1.5, -0.5, 2.0, 0.25]
  $beta "beta": f32[4] = [0.0, 1.0, -1.0, 0.5]
  %m "moments/mean": f32[N,5,1] = reduce_mean(%x, $axes) {keepdims=true, noop_with_empty_axes=false}
  %sd "moments/sub": f32[N,5,4] = sub(%x, %m)
  %sq "moments/SquaredDifference": f32[N,5,4] = mul(%sd, %sd)
  %v "moments/variance": f32[N,5,1] = reduce_mean(%sq, $axes) {keepdims=true, noop_with_empty_axes=false}
  %ve "batchnorm/add": f32[N,5,1] = add(%v, $eps)
  %sr "batchnorm/Rsqrt/sqrt": f32[N,5,1] = sqrt(%ve)
  %r "batchnorm/Rsqrt": f32[N,5,1] = reciprocal(%sr)
  %inv "batchnorm/mul": f32[N,5,4] = mul(%r, $gamma)
  %xi "batchnorm/mul_1": f32[N,5,4] = mul(%x, %inv)
  %mi "batchnorm/mul_2": f32[N,5,4] = mul(%m, %inv)
  %sh "batchnorm/sub": f32[N,5,4] = sub($beta, %mi)
  %y "batchnorm/add_1": f32[N,5,4] = add(%xi, %sh)
  return %y
}
