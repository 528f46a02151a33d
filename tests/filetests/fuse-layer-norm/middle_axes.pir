; pass: fuse-layer-norm
; run: equivalent tol=1e-4
; run: equivalent N=3 seed=2 floats=-4..4
; LayerNorms over axes that are not the last ones, with kept dims
; (`layer_normalization` normalizes the last axes, so these fuse between a
; transpose that moves the normalized axes last, in their order, and one
; that moves them back):
; * y: over axis 1 of [N,3,4], PyTorch's (x−m)/√(var+eps)·γ+β with γ [3,1]
;   and β [1,3,1]: perm [0,2,1], scale and bias [3];
; * w: over axes 1 and 2 of [N,3,4,2] with γ [3,4,1]: perm [0,3,1,2], scale
;   [3,4];
; * z: over axis 1, but its scale [4] varies along axis 2, which is not
;   normalized: the normalization (n3) fuses, the Mul by the scale stays.
graph @ln_middle(%x "x": f32[N,3,4], %x2 "x2": f32[N,3,4,2]) -> (f32[N,3,4], f32[N,3,4,2], f32[N,3,4]) {
  $mid "mid": i64[1] = [1]
  $two_axes "two_axes": i64[2] = [1, 2]
  $two "two": f32[] = [2.0]
  $eps "eps": f32[] = [1e-5]
  $gamma "gamma": f32[3,1] = [0.5, -1.25, 2.0]
  $beta "beta": f32[1,3,1] = [0.1, 0.0, -0.3]
  $gamma2 "gamma2": f32[3,4,1] = [1.0, 0.5, -0.5, 2.0, 1.5, -1.0, 0.25, 0.75, 1.25, -2.0, 0.125, 3.0]
  $scale_z "scale_z": f32[4] = [1.0, 2.0, 3.0, 4.0]
  %m "m": f32[N,1,4] = reduce_mean(%x, $mid) {keepdims=true, noop_with_empty_axes=false}
  %d "d": f32[N,3,4] = sub(%x, %m)
  %q "q": f32[N,3,4] = pow(%d, $two)
  %v "v": f32[N,1,4] = reduce_mean(%q, $mid) {keepdims=true, noop_with_empty_axes=false}
  %e "e": f32[N,1,4] = add(%v, $eps)
  %r "r": f32[N,1,4] = sqrt(%e)
  %n "n": f32[N,3,4] = div(%d, %r)
  %g "g": f32[N,3,4] = mul(%n, $gamma)
  %y "y": f32[N,3,4] = add(%g, $beta)
  %m2 "m2": f32[N,1,1,2] = reduce_mean(%x2, $two_axes) {keepdims=true, noop_with_empty_axes=false}
  %d2 "d2": f32[N,3,4,2] = sub(%x2, %m2)
  %q2 "q2": f32[N,3,4,2] = mul(%d2, %d2)
  %v2 "v2": f32[N,1,1,2] = reduce_mean(%q2, $two_axes) {keepdims=true, noop_with_empty_axes=false}
  %e2 "e2": f32[N,1,1,2] = add(%v2, $eps)
  %r2 "r2": f32[N,1,1,2] = sqrt(%e2)
  %n2 "n2": f32[N,3,4,2] = div(%d2, %r2)
  %w "w": f32[N,3,4,2] = mul(%n2, $gamma2)
  %m3 "m3": f32[N,1,4] = reduce_mean(%x, $mid) {keepdims=true, noop_with_empty_axes=false}
  %d3 "d3": f32[N,3,4] = sub(%x, %m3)
  %q3 "q3": f32[N,3,4] = mul(%d3, %d3)
  %v3 "v3": f32[N,1,4] = reduce_mean(%q3, $mid) {keepdims=true, noop_with_empty_axes=false}
  %e3 "e3": f32[N,1,4] = add(%v3, $eps)
  %r3 "r3": f32[N,1,4] = sqrt(%e3)
  %n3 "n3": f32[N,3,4] = div(%d3, %r3)
  %z "z": f32[N,3,4] = mul(%n3, $scale_z)
  return %y, %w, %z
}
