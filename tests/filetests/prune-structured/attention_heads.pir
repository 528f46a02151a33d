; passes: prune-structured{ratio=0.5},dce
; run: equivalent
; Multi-head attention written out (2 heads of 2): the query, key and value
; columns of a head, the reshapes into heads and the output projection's rows
; go together. Head 1 is dead (zero weights), so removing it is exact and the
; head count in the reshapes drops from 2 to 1.
graph @lab(%x "x": f32[N,3,4]) -> (f32[N,3,4]) {
  $wq "wq": f32[4,4] = [-0.53, 1.33, 0, 0, -0.94, 1.13, 0, 0, -0.05, 0.04, 0, 0, 0.22, -1.04, 0, 0]
  $wk "wk": f32[4,4] = [1.09, -1.27, 0, 0, -1.32, 1.72, 0, 0, 0.77, 0.38, 0, 0, -0.06, 0.08, 0, 0]
  $wv "wv": f32[4,4] = [-0.18, 1.19, 0, 0, 1.53, -0.56, 0, 0, 1.57, 0.96, 0, 0, 0.11, 0.22, 0, 0]
  $wo "wo": f32[4,4] = [0.05, 1.51, 0.56, -0.06, -0.58, -0.63, 1.6, 0.51, 0, 0, 0, 0, 0, 0, 0, 0]
  $heads "heads": i64[4] = [0, 0, 2, 2]
  $merge "merge": i64[3] = [0, 0, 4]
  %q0 "q0": f32[N,3,4] = matmul(%x, $wq)
  %k0 "k0": f32[N,3,4] = matmul(%x, $wk)
  %v0 "v0": f32[N,3,4] = matmul(%x, $wv)
  %q1 "q1": f32[N,3,2,2] = reshape(%q0, $heads) {allowzero=false}
  %k1 "k1": f32[N,3,2,2] = reshape(%k0, $heads) {allowzero=false}
  %v1 "v1": f32[N,3,2,2] = reshape(%v0, $heads) {allowzero=false}
  %q "q": f32[N,2,3,2] = transpose(%q1) {perm=[0,2,1,3]}
  %k "k": f32[N,2,2,3] = transpose(%k1) {perm=[0,2,3,1]}
  %v "v": f32[N,2,3,2] = transpose(%v1) {perm=[0,2,1,3]}
  %s "s": f32[N,2,3,3] = matmul(%q, %k)
  %p "p": f32[N,2,3,3] = softmax(%s) {axis=-1, coerce_2d=false}
  %o "o": f32[N,2,3,2] = matmul(%p, %v)
  %o1 "o1": f32[N,3,2,2] = transpose(%o) {perm=[0,2,1,3]}
  %o2 "o2": f32[N,3,4] = reshape(%o1, $merge) {allowzero=false}
  %y "y": f32[N,3,4] = matmul(%o2, $wo)
  return %y
}
