; pipeline: cleanup
; [N, S, 2, 2] from x: [N, S, 4] becomes [0, 0, 2, 2]. Swapping the symbols
; ([S, N, 4]) has two symbols that are not in place: only one can be -1, so that
; reshape keeps its computed shape.
graph @fs_syms(%x "x": f32[N,S,4]) -> (f32[N,S,2,2], f32[S,N,4]) {
  $i0 "i0": i64[1] = [0]
  $i1 "i1": i64[1] = [1]
  $tail "tail": i64[2] = [2, 2]
  $four "four": i64[1] = [4]
  %s "s": i64[3] = shape(%x) {start=0}
  %n "n": i64[1] = gather(%s, $i0) {axis=0}
  %l "l": i64[1] = gather(%s, $i1) {axis=0}
  %t1 "t1": i64[4294967296] = concat(%n, %l, $tail) {axis=0}
  %y1 "y1": f32[N,S,2,2] = reshape(%x, %t1) {allowzero=false}
  %t2 "t2": i64[3] = concat(%l, %n, $four) {axis=0}
  %y2 "y2": f32[S,N,4] = reshape(%x, %t2) {allowzero=false}
  return %y1, %y2
}
