; pass: remove-identity
; run: equivalent
; run: equivalent N=3 A=2 B=2 seed=3
; Reshapes and expands that leave their input's shape as it is go:
; * b: an expand to ones and the input's own size (TF's BroadcastTo);
; * c: a reshape of [N,1,4] to [0,1,4];
; * h: an expand whose declared type names another symbol (A) than its
;   input's (the unknown that broadcasting A with B gives): its constant
;   target still proves that it keeps the shape;
; * y: a no-op expand that is a graph output: its input takes the name "y".
; These stay: d (a reshape to another shape), e (an expand that grows a dim)
; and j (a no-op expand that is a graph output typed otherwise than its input:
; removing it would change the declared output type).
graph @ri_noop_shape(%x "x": f32[N,1,4], %p "p": f32[A,1], %q "q": f32[B,1]) -> (f32[N,4,1], f32[N,2,4], f32[A,1], f32[A,1], f32[N,1,4]) {
  $ones "ones": i64[3] = [1, 1, 4]
  $same "same": i64[3] = [0, 1, 4]
  $turn "turn": i64[3] = [0, 4, 1]
  $grow "grow": i64[3] = [1, 2, 4]
  $unit "unit": i64[2] = [1, 1]
  %a "a": f32[N,1,4] = relu(%x)
  %b "b": f32[N,1,4] = expand(%a, $ones)
  %c "c": f32[N,1,4] = reshape(%b, $same) {allowzero=false}
  %d "d": f32[N,4,1] = reshape(%c, $turn) {allowzero=false}
  %e "e": f32[N,2,4] = expand(%c, $grow)
  %g "g": f32[_u0,1] = add(%p, %q)
  %h "h": f32[A,1] = expand(%g, $unit)
  %k "k": f32[A,1] = neg(%h)
  %j "j": f32[A,1] = expand(%g, $unit)
  %y "y": f32[N,1,4] = expand(%c, $ones)
  return %d, %e, %k, %j, %y
}
