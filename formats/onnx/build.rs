//! Compiles `proto/onnx.proto` to Rust with protox (a pure-Rust protobuf compiler, so no
//! `protoc` is needed) and prost-build; the generated code lives in OUT_DIR only.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/onnx.proto");
    let fds = protox::compile(["proto/onnx.proto"], ["proto"])?;
    prost_build::Config::new().compile_fds(fds)?;
    Ok(())
}
