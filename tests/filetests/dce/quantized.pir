; pass: dce
; run: equivalent
; A quantized graph (int8 codes in, codes out) runs on the integer kernels; the
; dead requantizing add and its weight go, the live path stays bit-exact.
graph @dce_q(%x "x": i8[N,4] !q(bits=8, signed=true, scale=[0.05], zp=[-3])) -> (i8[N,4] !q(bits=8, signed=true, scale=[0.05], zp=[-3])) {
  $w "w": i8[4] !q(bits=8, signed=true, scale=[0.1], zp=[0]) = [10, -20, 30, -40]
  %a "a": i8[N,4] !q(bits=8, signed=true, scale=[0.08], zp=[2]) = add(%x, $w)
  %y "y": i8[N,4] !q(bits=8, signed=true, scale=[0.05], zp=[-3]) = relu(%x)
  return %y
}
