//! Requests inside an established call: BYE both ways, re-INVITE/UPDATE offers,
//! INFO and the other methods a dialog accepts (REFER and the NOTIFYs of a
//! transfer are handed to `transfer`).

use super::*;

/// DTMF digits waiting to go out as INFO, at most.
const INFO_QUEUE: usize = 64;
/// The Duration an INFO digit announces.
const INFO_DURATION: Duration = Duration::from_millis(250);

/// A DTMF digit carried by an INFO (`application/dtmf-relay` or
/// `application/dtmf`), with its duration in ms.
fn info_dtmf(req: &Request) -> Option<(char, u32)> {
    let ct = req.head.content_type.as_deref()?;
    let mime = ct.split(';').next()?.trim();
    let (digit, duration) = if mime.eq_ignore_ascii_case("application/dtmf-relay") {
        callwire_media::dtmf::info::parse_dtmf_relay(&req.body).ok()?
    } else if mime.eq_ignore_ascii_case("application/dtmf") {
        (
            callwire_media::dtmf::info::parse_dtmf(&req.body).ok()?,
            INFO_DURATION,
        )
    } else {
        return None;
    };
    Some((
        digit.as_char(),
        u32::try_from(duration.as_millis()).unwrap_or(u32::MAX),
    ))
}

impl Core {
    /// A request inside a dialog (To tag present).
    pub(crate) fn on_in_dialog_request(
        &mut self,
        tx: ServerTxId,
        req: Request,
        source: Target,
        now: Instant,
    ) {
        use callwire_sip::message::Method;
        let timers = self.responder_timers();
        let Some(d) = self.dialogs.lookup_request(&req) else {
            let resp = Response::for_request(&req, StatusCode::CALL_DOES_NOT_EXIST, None);
            return self.respond(tx, resp, now);
        };
        if let Err(rejection) = d.receive_request(&req) {
            let resp = rejection.to_response(&req, &mut self.rng);
            return self.respond(tx, resp, now);
        }
        let did = d.id().clone();
        let call_id = self.by_dialog.get(&did).cloned();
        match req.method {
            Method::Bye => {
                let resp = d.response(&req, StatusCode::OK);
                self.respond(tx, resp, now);
                if let Some(id) = call_id {
                    let reason = self.remote_bye_reason(&id);
                    self.end_call(&id, reason, None, now);
                }
            }
            Method::Invite | Method::Update => {
                // Re-offer: answer with our media, keeping our port.
                let answer = match (&call_id, req.body.is_empty()) {
                    (Some(id), false) => self.reanswer(id, &req),
                    (Some(id), true) => self.calls.get(id).map(|c| match &c.leg {
                        Leg::Incoming(l) => Ok(l.local_sdp.clone()),
                        Leg::Outgoing(l) => Ok(l.offer.to_string().into_bytes()),
                    }),
                    _ => None,
                };
                let Some(d) = self.dialogs.get_mut(&did) else {
                    return;
                };
                let resp = match answer {
                    Some(Ok(body)) => {
                        let mut ok = d.response(&req, StatusCode::OK);
                        ok.head.content_type = Some("application/sdp".into());
                        ok.body = body;
                        ok
                    }
                    Some(Err(())) => d.response(&req, StatusCode::NOT_ACCEPTABLE_HERE),
                    None => d.response(&req, StatusCode::OK),
                };
                if req.method == Method::Invite && resp.status.is_success() {
                    if let Some(Call {
                        leg: Leg::Incoming(leg),
                        ..
                    }) = call_id.as_ref().and_then(|id| self.calls.get_mut(id))
                    {
                        leg.responder = Some(UasInviteResponder::new(resp.clone(), now, timers));
                        leg.peer = source;
                    }
                    if let Some(id) = &call_id {
                        if let Some(at) = self.calls.get(id).and_then(|c| match &c.leg {
                            Leg::Incoming(l) => l
                                .responder
                                .as_ref()
                                .and_then(UasInviteResponder::poll_timeout),
                            Leg::Outgoing(_) => None,
                        }) {
                            self.set_timer(at, CoreTimer::Responder(id.clone()));
                        }
                    }
                }
                self.respond(tx, resp, now);
            }
            Method::Info => {
                let resp = d.response(&req, StatusCode::OK);
                self.respond(tx, resp, now);
                if let (Some(id), Some((digit, ms))) = (&call_id, info_dtmf(&req)) {
                    self.on_info_dtmf(id, digit, ms, now);
                }
            }
            Method::Refer => self.on_refer(tx, &req, &did, call_id.as_deref(), now),
            Method::Notify => {
                let resp = d.response(&req, StatusCode::OK);
                self.respond(tx, resp, now);
                if let Some(id) = &call_id {
                    self.on_transfer_notify(id, &req, now);
                }
            }
            Method::Options | Method::Message | Method::Prack => {
                let resp = d.response(&req, StatusCode::OK);
                self.respond(tx, resp, now);
            }
            _ => {
                let mut resp = d.response(&req, StatusCode::METHOD_NOT_ALLOWED);
                resp.head.other.push("Allow", crate::core::ALLOW);
                self.respond(tx, resp, now);
            }
        }
    }

    /// Our answer to a re-offer inside a call; `Err` when nothing matches (488).
    pub(super) fn reanswer(&mut self, id: &str, req: &Request) -> Option<Result<Vec<u8>, ()>> {
        let offer = SessionDescription::parse(&req.body).ok()?;
        let on_hold = self.calls.get(id)?.media.on_hold;
        let media = self.renewed_local_media(id, on_hold)?;
        Some(match sdp::answer(&offer, &media) {
            Ok((answer, neg)) => {
                self.set_negotiated(id, neg);
                Ok(answer.to_string().into_bytes())
            }
            Err(_) => Err(()),
        })
    }

    /// Queues DTMF digits to send as SIP INFO, one request per digit, each
    /// after the previous one was answered (so they arrive in order).
    pub(super) fn send_info_dtmf(
        &mut self,
        id: &str,
        digits: &str,
        now: Instant,
    ) -> Result<(), EngineError> {
        let call = self.calls.get_mut(id).ok_or_else(|| not_found(id))?;
        let before = call.info_dtmf.len();
        // INFO has no pauses: `,` is skipped (the digits were validated).
        call.info_dtmf.extend(
            digits
                .chars()
                .filter_map(callwire_media::dtmf::Digit::from_char)
                .take(INFO_QUEUE - before.min(INFO_QUEUE)),
        );
        if !call.info_busy {
            self.next_info_dtmf(id, now);
        }
        Ok(())
    }

    /// Sends the next queued INFO digit, if any.
    pub(crate) fn next_info_dtmf(&mut self, id: &str, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        call.info_busy = false;
        if call.state != CallState::Active {
            call.info_dtmf.clear();
            return;
        }
        let Some(digit) = call.info_dtmf.pop_front() else {
            return;
        };
        let peer = call.peer();
        let Some(did) = call.dialog_id().cloned() else {
            return;
        };
        let Some(d) = self.dialogs.get_mut(&did) else {
            return;
        };
        let Ok(mut info) = d.new_request(callwire_sip::message::Method::Info, &mut self.rng) else {
            return;
        };
        info.head.content_type = Some("application/dtmf-relay".into());
        info.body =
            callwire_media::dtmf::info::format_dtmf_relay(digit, INFO_DURATION).into_bytes();
        let target = in_dialog_target(d, peer);
        match self.tx.send_request(info, target, now) {
            Ok(tx) => {
                self.client_tx
                    .insert(tx, ClientPurpose::DtmfInfo(id.to_owned()));
                if let Some(call) = self.calls.get_mut(id) {
                    call.info_busy = true;
                }
            }
            Err(e) => tracing::warn!(call = %id, error = %e, "cannot send INFO"),
        }
    }

    /// Sends BYE for an answered call; the call ends when it is answered.
    pub(super) fn send_bye(
        &mut self,
        id: &str,
        reason: Reason,
        now: Instant,
    ) -> Result<(), EngineError> {
        let Some(call) = self.calls.get_mut(id) else {
            return Err(not_found(id));
        };
        let peer = call.peer();
        let Some(did) = call.dialog_id().cloned() else {
            return Err(EngineError::Conflict("the call has no dialog".into()));
        };
        if !call.state.is_ended() {
            call.state = CallState::Terminating;
            call.reason = reason;
        }
        // Hanging up ends the media at once (RTCP BYE, recording closed, ports
        // freed); the dialog waits for the BYE's answer.
        self.stop_media(id);
        let Some(d) = self.dialogs.get_mut(&did) else {
            return Err(EngineError::Conflict("the call has no dialog".into()));
        };
        let bye = d
            .new_request(callwire_sip::message::Method::Bye, &mut self.rng)
            .map_err(|e| EngineError::Conflict(format!("cannot send BYE: {e}")))?;
        let target = in_dialog_target(d, peer);
        match self.tx.send_request(bye, target, now) {
            Ok(tx) => {
                self.client_tx.insert(tx, ClientPurpose::Bye(id.to_owned()));
                self.set_timer(now + TERMINATING_GUARD, CoreTimer::Guard(id.to_owned()));
                self.save(id);
                Ok(())
            }
            Err(e) => {
                self.end_call(id, reason, None, now);
                Err(EngineError::Unavailable(format!("cannot send BYE: {e}")))
            }
        }
    }
}
