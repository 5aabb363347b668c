//! Semantic checks a UAS applies to a well-formed request before processing it,
//! each with its own status (RFC 3261 §8.2.2–8.2.3, in that order): unsupported
//! Request-URI scheme (416), unknown required extensions (420), a body the UAS cannot
//! read (415), and an Accept that rules out an SDP answer (406). Method support (405 /
//! 501) is the caller's, as are registrar and proxy rules.

use crate::message::{Method, Request, Response, StatusCode, Uri};

use super::value::split_list;

/// Why a request is refused, and what to put in the response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Status code (416, 420, 415, 406 or 400).
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Headers the response must carry (`Unsupported`, `Accept`, `Warning`…).
    pub extra_headers: Vec<(String, String)>,
}

impl Rejection {
    fn new(status: u16, reason: &str) -> Rejection {
        Rejection {
            status,
            reason: reason.to_owned(),
            extra_headers: Vec::new(),
        }
    }

    fn with(mut self, name: &str, value: String) -> Rejection {
        self.extra_headers.push((name.to_owned(), value));
        self
    }

    /// The response to `req` (RFC 3261 §8.2.6: Via, From, To, Call-ID, CSeq copied)
    /// with this status, reason and extra headers. The caller adds a To tag.
    pub fn to_response(&self, req: &Request) -> Response {
        let status = StatusCode::new(self.status).unwrap_or(StatusCode::SERVER_INTERNAL_ERROR);
        let mut resp = Response::for_request(req, status, Some(&self.reason));
        for (n, v) in &self.extra_headers {
            resp.head.other.push(n, v.as_str());
        }
        resp
    }
}

/// Body types an SDP-carrying request may use.
const ACCEPTED_TYPES: &[&str] = &["application/sdp", "multipart/mixed"];

/// Runs the checks on `req`; `supported` lists the option-tags this UAS implements
/// (compared case-insensitively).
///
/// - Request-URI other than `sip:`/`sips:` → 416 (RFC 4475 §3.3.2, §3.3.3).
/// - `Require` naming an option-tag not in `supported` → 420 with `Unsupported`
///   listing them (RFC 4475 §3.3.5). Not applied to ACK and CANCEL (RFC 3261 §8.2.2.3).
///   Proxy-Require is for proxies and ignored here.
/// - INVITE, UPDATE or PRACK with a body: no Content-Type → 400; a Content-Type other
///   than application/sdp or multipart/mixed → 415 with `Accept: application/sdp`
///   (RFC 4475 §3.3.6); a Content-Encoding other than identity → 415 with
///   `Accept-Encoding: identity`.
/// - INVITE whose `Accept` headers admit no SDP → 406 with a Warning 399 (RFC 4475
///   §3.3.15).
pub fn check_request(req: &Request, supported: &[&str]) -> Result<(), Rejection> {
    if let Uri::Other { .. } = req.uri {
        return Err(Rejection::new(416, "Unsupported URI Scheme"));
    }
    let others = &req.head.other;
    if !matches!(req.method, Method::Ack | Method::Cancel) {
        let mut unknown: Vec<&str> = Vec::new();
        for value in others.get_all("Require") {
            let tags = split_list(value)
                .map_err(|_| Rejection::new(400, "Bad Request - Malformed Require"))?;
            for tag in tags {
                if !supported.iter().any(|s| s.eq_ignore_ascii_case(tag)) && !unknown.contains(&tag)
                {
                    unknown.push(tag);
                }
            }
        }
        if !unknown.is_empty() {
            return Err(
                Rejection::new(420, "Bad Extension").with("Unsupported", unknown.join(", "))
            );
        }
    }
    let carries_sdp = matches!(req.method, Method::Invite | Method::Update | Method::Prack);
    if carries_sdp && !req.body.is_empty() {
        let Some(ct) = &req.head.content_type else {
            return Err(Rejection::new(400, "Bad Request - Missing Content-Type"));
        };
        let media = ct.split(';').next().unwrap_or("").trim();
        if !ACCEPTED_TYPES.iter().any(|t| t.eq_ignore_ascii_case(media)) {
            return Err(Rejection::new(415, "Unsupported Media Type")
                .with("Accept", "application/sdp".to_owned()));
        }
        for enc in others.get_all("Content-Encoding") {
            let ok = split_list(enc)
                .map(|v| v.iter().all(|e| e.eq_ignore_ascii_case("identity")))
                .unwrap_or(false);
            if !ok {
                return Err(Rejection::new(415, "Unsupported Media Type")
                    .with("Accept-Encoding", "identity".to_owned()));
            }
        }
    }
    if req.method == Method::Invite {
        let mut any_accept = false;
        let mut sdp_ok = false;
        for value in others.get_all("Accept") {
            any_accept = true;
            // An empty Accept admits nothing (RFC 3261 §20.1).
            for range in split_list(value).unwrap_or_default() {
                sdp_ok |= admits_sdp(range);
            }
        }
        if any_accept && !sdp_ok {
            return Err(Rejection::new(406, "Not Acceptable").with(
                "Warning",
                "399 callwire \"Only application/sdp session descriptions are supported\""
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

/// Whether one Accept media-range (`type/subtype;params`) admits application/sdp
/// with a non-zero q.
fn admits_sdp(range: &str) -> bool {
    let mut parts = range.split(';');
    let media = parts.next().unwrap_or("").trim();
    let q_zero = parts.any(|p| {
        let p = p.trim();
        p.split_once('=').is_some_and(|(n, v)| {
            n.trim().eq_ignore_ascii_case("q") && v.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
        })
    });
    let Some((t, s)) = media.split_once('/') else {
        return false;
    };
    let (t, s) = (t.trim(), s.trim());
    let type_ok = t == "*" || t.eq_ignore_ascii_case("application");
    let sub_ok = s == "*" || s.eq_ignore_ascii_case("sdp");
    type_ok && sub_ok && !q_zero
}

#[cfg(test)]
mod tests {
    use super::admits_sdp;

    #[test]
    fn accept_ranges() {
        assert!(admits_sdp("application/sdp"));
        assert!(admits_sdp("*/*"));
        assert!(admits_sdp("application/*;level=1"));
        assert!(!admits_sdp("application/sdp;q=0"));
        assert!(!admits_sdp("text/nobodyKnowsThis"));
        assert!(!admits_sdp("garbage"));
    }
}
