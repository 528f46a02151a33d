; pipeline: cleanup
; run: equivalent tol=1e-4
; run: equivalent N=4 seed=9 floats=-3..3
; Magika's two LayerNorms as tf2onnx writes them from JAX: sums without kept
; dims times 1/count, the variance as E[x²]−E[x]² clamped by Max(0, ·), each
; reshaped back to the kept-dims shape and then broadcast (Expand) to the
; shape it already has. Cleanup keeps the reduced dims, drops the no-op
; expands and fuses:
; * y0, over axis 1 of [N,5,4] (γ, β [1,5,1]): a layer_normalization over the
;   last axis between transposes [0,2,1];
; * y1, over the last axis of a slice of an input: inference names the
;   slice's rows with an unknown while the exporter's declared types say N
;   (as in the model), so the centered value's rows are a third symbol.
graph @magika_ln(%x "x": f32[N,5,4], %z "z": f32[N,6]) -> (f32[N,5,4], f32[_u2,6]) {
  $axis "axis": i64[1] = [1]
  $fifth "fifth": f32[] = [0.2]
  $sixth "sixth": f32[] = [0.16666667]
  $zero "zero": f32[] = [0.0]
  $eps "eps": f32[] = [1e-6]
  $back0 "back0": i64[3] = [0, 1, 4]
  $bcast0 "bcast0": i64[3] = [1, 1, 4]
  $gamma0 "gamma0": f32[1,5,1] = [1.5, 0.5, -1.0, 2.0, 0.75]
  $beta0 "beta0": f32[1,5,1] = [0.25, -0.5, 0.0, 1.0, -0.125]
  $s0 "start": i64[1] = [1]
  $s1 "end": i64[1] = [1000]
  $s2 "slice_axis": i64[1] = [0]
  $back1 "back1": i64[2] = [-1, 1]
  $bcast1 "bcast1": i64[2] = [1, 1]
  $gamma1 "gamma1": f32[1,6] = [1.0, -0.5, 2.0, 0.25, 1.5, -1.0]
  $beta1 "beta1": f32[1,6] = [0.0, 0.5, -0.25, 1.0, 0.125, -2.0]
  %s "sum": f32[N,4] = reduce_sum(%x, $axis) {keepdims=false, noop_with_empty_axes=true}
  %xx "square": f32[N,5,4] = mul(%x, %x)
  %s2 "sum_sq": f32[N,4] = reduce_sum(%xx, $axis) {keepdims=false, noop_with_empty_axes=true}
  %m2 "mean_sq": f32[N,4] = mul(%s2, $fifth)
  %m "mean": f32[N,4] = mul(%s, $fifth)
  %mm "square_mean": f32[N,4] = mul(%m, %m)
  %v0 "var_raw": f32[N,4] = sub(%m2, %mm)
  %v "var": f32[N,4] = max($zero, %v0)
  %vb "var_back": f32[N,1,4] = reshape(%v, $back0) {allowzero=false}
  %ve "var_bcast": f32[N,1,4] = expand(%vb, $bcast0)
  %vp "var_eps": f32[N,1,4] = add(%ve, $eps)
  %sd "std": f32[N,1,4] = sqrt(%vp)
  %r "rstd": f32[N,1,4] = reciprocal(%sd)
  %rg "rstd_gamma": f32[N,5,4] = mul(%r, $gamma0)
  %mb "mean_back": f32[N,1,4] = reshape(%m, $back0) {allowzero=false}
  %me "mean_bcast": f32[N,1,4] = expand(%mb, $bcast0)
  %d "centered": f32[N,5,4] = sub(%x, %me)
  %p "scaled": f32[N,5,4] = mul(%d, %rg)
  %y0 "y0": f32[N,5,4] = add(%p, $beta0)
  %x1 "x1": f32[_u0,6] = slice(%z, $s0, $s1, $s2)
  %t "sum1": f32[_u0] = reduce_sum(%x1, $axis) {keepdims=false, noop_with_empty_axes=true}
  %n "mean1": f32[_u0] = mul(%t, $sixth)
  %nn "square_mean1": f32[_u0] = mul(%n, %n)
  %nb "mean1_back": f32[N,1] = reshape(%n, $back1) {allowzero=false}
  %ne "mean1_bcast": f32[N,1] = expand(%nb, $bcast1)
  %c "centered1": f32[_u1,6] = sub(%x1, %ne)
  %xx1 "square1": f32[_u0,6] = mul(%x1, %x1)
  %t2 "sum_sq1": f32[_u0] = reduce_sum(%xx1, $axis) {keepdims=false, noop_with_empty_axes=true}
  %n2 "mean_sq1": f32[_u0] = mul(%t2, $sixth)
  %w0 "var_raw1": f32[_u0] = sub(%n2, %nn)
  %w "var1": f32[_u0] = max($zero, %w0)
  %wb "var1_back": f32[N,1] = reshape(%w, $back1) {allowzero=false}
  %we "var1_bcast": f32[N,1] = expand(%wb, $bcast1)
  %wp "var1_eps": f32[N,1] = add(%we, $eps)
  %sd1 "std1": f32[N,1] = sqrt(%wp)
  %r1 "rstd1": f32[N,1] = reciprocal(%sd1)
  %rg1 "rstd1_gamma": f32[N,6] = mul(%r1, $gamma1)
  %p1 "scaled1": f32[_u2,6] = mul(%c, %rg1)
  %y1 "y1": f32[_u2,6] = add(%p1, $beta1)
  return %y0, %y1
}
