; verify-error: quant
; Per-tensor parameters with two scales.
graph @v_quant(%x "x": i8[4] !q(bits=8, signed=true, scale=[0.5, 0.25], zp=[0, 0])) -> (i8[4] !q(bits=8, signed=true, scale=[0.5, 0.25], zp=[0, 0])) {
  return %x
}
