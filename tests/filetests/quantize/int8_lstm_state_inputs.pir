; passes: quantize{scheme=int8,calib=random:16:3:normal,calib-fixed=h=zeros;c=zeros}
; run: within 0.05
; An LSTM with its state as inputs, as exporters write them: h and c are held at zero during
; calibration (their batch dim N, axis 1, follows the random data's batch). The MatMul in
; front runs int8; the LSTM stays float with W and R stored int8 per gate row behind a
; dequantize_linear (axis 1), the bias float.
graph @lstm_state(%x "x": f32[N,4,3], %h "h": f32[1,N,2], %c "c": f32[1,N,2]) -> (f32[1,N,2]) {
  $wi "wi": f32[3,3] = [0.17, 0.41, 0.17, -0.65, 0.45, 0.22, -0.27, 0.29, 0.18]
  $W "W": f32[1,8,3] = [0.15, 0.01, 0.27, -0.37, -0.08, -0.24, 0.3, 0.02, -0.15, -0.39, -0.13, 0.0, -0.14, 0.65, 0.5, -1.36, -0.94, -0.09, -0.21, 0.11, 0.11, 1.06, -0.56, -0.19]
  $R "R": f32[1,8,2] = [1.02, 0.32, 0.33, -0.26, -0.82, 0.08, 0.05, -0.61, -0.34, -0.04, -0.47, -0.05, 0.05, 0.02, -0.25, 0.3]
  $B "B": f32[1,16] = [0.09, 0.03, -0.08, 0.07, -0.05, 0.09, -0.11, 0.09, 0.0, -0.12, -0.03, 0.01, 0.03, -0.1, -0.11, 0.02]
  %p "p": f32[N,4,3] = matmul(%x, $wi)
  %s "s": f32[4,N,3] = transpose(%p) {perm=[1,0,2]}
  %y "Y": f32[4,1,N,2], %hn "hn": f32[1,N,2], %cn "cn": f32[1,N,2] = lstm(%s, $W, $R, $B, _, %h, %c) {direction="forward", hidden_size=2, activations=["Sigmoid","Tanh","Tanh"], activation_alpha=[], activation_beta=[], input_forget=false, layout=0}
  return %hn
}
