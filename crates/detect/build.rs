//! The rule pack under `rules/` is compiled into the crate (`include_dir!`): rebuild when
//! it changes.

fn main() {
    println!("cargo:rerun-if-changed=../../rules");
}
