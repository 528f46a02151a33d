; pass: keep-reduced-dims
; run: equivalent
; run: equivalent N=3 seed=7 floats=-3..3
; TF/JAX moments over axis 1 of [N,5,4] without kept dims (Magika's
; LayerNorm): E[x] and E[x²] as sums times 1/5, the variance clamped at zero,
; then both put back to [N,1,4], one by Reshape [0,1,4], one by Unsqueeze [1].
; E[x²] and E[x] meet in the variance: one region. Both reductions keep their
; dims, every value between them becomes [N,1,4] and the two restoring nodes
; go.
graph @krd_moments(%x "x": f32[N,5,4]) -> (f32[N,5,4]) {
  $axis "axis": i64[1] = [1]
  $fifth "fifth": f32[] = [0.2]
  $zero "zero": f32[1] = [0.0]
  $eps "eps": f32[] = [1e-3]
  $back "back": i64[3] = [0, 1, 4]
  %s "sum": f32[N,4] = reduce_sum(%x, $axis) {keepdims=false, noop_with_empty_axes=false}
  %xx "square": f32[N,5,4] = mul(%x, %x)
  %s2 "sum_sq": f32[N,4] = reduce_sum(%xx, $axis) {keepdims=false, noop_with_empty_axes=false}
  %m "mean": f32[N,4] = mul(%s, $fifth)
  %m2 "mean_sq": f32[N,4] = mul(%s2, $fifth)
  %mm "square_mean": f32[N,4] = mul(%m, %m)
  %v0 "var_raw": f32[N,4] = sub(%m2, %mm)
  %v "var": f32[N,4] = max($zero, %v0)
  %vb "var_back": f32[N,1,4] = reshape(%v, $back) {allowzero=false}
  %mb "mean_back": f32[N,1,4] = unsqueeze(%m, $axis)
  %ve "var_eps": f32[N,1,4] = add(%vb, $eps)
  %r "std": f32[N,1,4] = sqrt(%ve)
  %d "centered": f32[N,5,4] = sub(%x, %mb)
  %y "y": f32[N,5,4] = div(%d, %r)
  return %y
}
