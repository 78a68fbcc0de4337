mod options;
fn main() {}
