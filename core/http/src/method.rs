//! Request methods and small method sets used for routing, `Allow` and CORS.

/// The request methods the engine distinguishes; anything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    pub fn parse(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Method::Get => 1,
            Method::Head => 2,
            Method::Post => 4,
            Method::Put => 8,
            Method::Patch => 16,
            Method::Delete => 32,
            Method::Options => 64,
            Method::Other => 0,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other => "",
        }
    }
}

/// A set of methods a route answers. `GET` implies `HEAD`; `OPTIONS` is always allowed
/// on a known path because the engine answers CORS preflights itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MethodSet(u8);

impl MethodSet {
    pub const GET: MethodSet = MethodSet(Method::Get.bit() | Method::Head.bit());
    pub const POST: MethodSet = MethodSet(Method::Post.bit());

    pub const fn with(self, other: MethodSet) -> MethodSet {
        MethodSet(self.0 | other.0)
    }

    pub const fn contains(self, method: Method) -> bool {
        method.bit() != 0 && (self.0 | Method::Options.bit()) & method.bit() != 0
    }

    /// The methods as a comma-separated list for `Allow` and CORS, OPTIONS included.
    /// Routes use these three sets; any other set reports every method, which only
    /// widens what a preflight admits, never what a route answers.
    pub fn list(self) -> &'static str {
        const GET_POST: u8 = MethodSet::GET.0 | MethodSet::POST.0;
        match self.0 & !Method::Options.bit() {
            x if x == MethodSet::GET.0 => "GET, HEAD, OPTIONS",
            x if x == MethodSet::POST.0 => "POST, OPTIONS",
            GET_POST => "GET, HEAD, POST, OPTIONS",
            _ => "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
        }
    }
}
