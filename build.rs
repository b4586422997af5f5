// The shared library carries the SONAME a C program links against, so that
// `make install` can lay out the usual libtracefilter.so -> .so.0 -> .so.0.1.0
// chain. Bump the major here only with an incompatible ABI change.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtracefilter.so.0");
}
