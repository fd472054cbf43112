// Rebuild when the embedded stdlib changes (include_dir cannot tell cargo).
fn main() {
    println!("cargo:rerun-if-changed=stdlib");
}
