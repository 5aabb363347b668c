//! SIP request methods and response status codes.

use std::fmt;

/// A SIP request method. Unknown token methods are kept as [`Method::Extension`]
/// (RFC 3261 §7.1: methods are case-sensitive).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE
    Invite,
    /// ACK
    Ack,
    /// BYE
    Bye,
    /// CANCEL
    Cancel,
    /// REGISTER
    Register,
    /// OPTIONS
    Options,
    /// INFO (RFC 6086)
    Info,
    /// UPDATE (RFC 3311)
    Update,
    /// REFER (RFC 3515)
    Refer,
    /// NOTIFY (RFC 6665)
    Notify,
    /// SUBSCRIBE (RFC 6665)
    Subscribe,
    /// MESSAGE (RFC 3428)
    Message,
    /// PRACK (RFC 3262)
    Prack,
    /// PUBLISH (RFC 3903)
    Publish,
    /// Any other token.
    Extension(String),
}

impl Method {
    /// Maps a method token to a method; never fails (unknown tokens are extensions).
    pub fn from_token(token: &str) -> Method {
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "REFER" => Method::Refer,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "MESSAGE" => Method::Message,
            "PRACK" => Method::Prack,
            "PUBLISH" => Method::Publish,
            other => Method::Extension(other.to_owned()),
        }
    }

    /// The method's token as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Refer => "REFER",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Message => "MESSAGE",
            Method::Prack => "PRACK",
            Method::Publish => "PUBLISH",
            Method::Extension(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response status code, 100–699.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

impl StatusCode {
    /// 100 Trying
    pub const TRYING: StatusCode = StatusCode(100);
    /// 180 Ringing
    pub const RINGING: StatusCode = StatusCode(180);
    /// 183 Session Progress
    pub const SESSION_PROGRESS: StatusCode = StatusCode(183);
    /// 200 OK
    pub const OK: StatusCode = StatusCode(200);
    /// 202 Accepted (RFC 3515: a REFER was accepted)
    pub const ACCEPTED: StatusCode = StatusCode(202);
    /// 400 Bad Request
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    /// 401 Unauthorized
    pub const UNAUTHORIZED: StatusCode = StatusCode(401);
    /// 403 Forbidden
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    /// 404 Not Found
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    /// 405 Method Not Allowed
    pub const METHOD_NOT_ALLOWED: StatusCode = StatusCode(405);
    /// 407 Proxy Authentication Required
    pub const PROXY_AUTH_REQUIRED: StatusCode = StatusCode(407);
    /// 408 Request Timeout
    pub const REQUEST_TIMEOUT: StatusCode = StatusCode(408);
    /// 415 Unsupported Media Type
    pub const UNSUPPORTED_MEDIA_TYPE: StatusCode = StatusCode(415);
    /// 416 Unsupported URI Scheme
    pub const UNSUPPORTED_URI_SCHEME: StatusCode = StatusCode(416);
    /// 420 Bad Extension
    pub const BAD_EXTENSION: StatusCode = StatusCode(420);
    /// 423 Interval Too Brief
    pub const INTERVAL_TOO_BRIEF: StatusCode = StatusCode(423);
    /// 480 Temporarily Unavailable
    pub const TEMPORARILY_UNAVAILABLE: StatusCode = StatusCode(480);
    /// 481 Call/Transaction Does Not Exist
    pub const CALL_DOES_NOT_EXIST: StatusCode = StatusCode(481);
    /// 486 Busy Here
    pub const BUSY_HERE: StatusCode = StatusCode(486);
    /// 487 Request Terminated
    pub const REQUEST_TERMINATED: StatusCode = StatusCode(487);
    /// 488 Not Acceptable Here
    pub const NOT_ACCEPTABLE_HERE: StatusCode = StatusCode(488);
    /// 491 Request Pending
    pub const REQUEST_PENDING: StatusCode = StatusCode(491);
    /// 500 Server Internal Error
    pub const SERVER_INTERNAL_ERROR: StatusCode = StatusCode(500);
    /// 501 Not Implemented
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    /// 503 Service Unavailable
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);
    /// 505 Version Not Supported
    pub const VERSION_NOT_SUPPORTED: StatusCode = StatusCode(505);
    /// 603 Decline
    pub const DECLINE: StatusCode = StatusCode(603);

    /// A status code, if `code` is within 100–699.
    pub fn new(code: u16) -> Option<StatusCode> {
        (100..=699).contains(&code).then_some(StatusCode(code))
    }

    /// The numeric code.
    pub fn code(self) -> u16 {
        self.0
    }

    /// 1xx.
    pub fn is_provisional(self) -> bool {
        self.0 < 200
    }

    /// 2xx.
    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    /// 200–699.
    pub fn is_final(self) -> bool {
        self.0 >= 200
    }

    /// The RFC 3261 §21 reason phrase for well-known codes, else a class phrase.
    pub fn default_reason(self) -> &'static str {
        match self.0 {
            100 => "Trying",
            180 => "Ringing",
            181 => "Call Is Being Forwarded",
            182 => "Queued",
            183 => "Session Progress",
            200 => "OK",
            202 => "Accepted",
            300 => "Multiple Choices",
            301 => "Moved Permanently",
            302 => "Moved Temporarily",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            406 => "Not Acceptable",
            407 => "Proxy Authentication Required",
            408 => "Request Timeout",
            413 => "Request Entity Too Large",
            415 => "Unsupported Media Type",
            416 => "Unsupported URI Scheme",
            420 => "Bad Extension",
            423 => "Interval Too Brief",
            480 => "Temporarily Unavailable",
            481 => "Call/Transaction Does Not Exist",
            482 => "Loop Detected",
            483 => "Too Many Hops",
            486 => "Busy Here",
            487 => "Request Terminated",
            488 => "Not Acceptable Here",
            491 => "Request Pending",
            500 => "Server Internal Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            504 => "Server Time-out",
            505 => "Version Not Supported",
            513 => "Message Too Large",
            600 => "Busy Everywhere",
            603 => "Decline",
            604 => "Does Not Exist Anywhere",
            606 => "Not Acceptable",
            c if c < 200 => "Session Progress",
            c if c < 300 => "OK",
            c if c < 400 => "Redirection",
            c if c < 500 => "Client Error",
            c if c < 600 => "Server Error",
            _ => "Global Failure",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
