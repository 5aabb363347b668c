//! Incoming calls (UAS): the INVITE (refused by the account's policy with
//! 403), 100/180, answer (API or auto-answer, after the policy's answer delay)
//! with 2xx retransmission until the ACK, CANCEL, and the answer timeout.

use super::*;

impl Core {
    /// A new incoming INVITE (no To tag).
    pub(crate) fn on_invite(&mut self, tx: ServerTxId, req: Request, source: Target, now: Instant) {
        let reject = |core: &mut Core, status: StatusCode, reason: Option<&str>, retry: bool| {
            let mut resp = Response::for_request(&req, status, reason);
            if retry {
                resp.head.other.push("Retry-After", "5");
            }
            core.add_to_tag(&mut resp);
            core.respond(tx, resp, now);
        };
        if self.shutting_down {
            return reject(
                self,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Shutting Down"),
                true,
            );
        }
        if self.active_calls() >= self.config.calls.max_concurrent as usize {
            return reject(
                self,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Too Many Calls"),
                true,
            );
        }
        if req.head.contact.is_empty() {
            return reject(
                self,
                StatusCode::BAD_REQUEST,
                Some("Bad Request - Missing Contact"),
                false,
            );
        }
        let account_id = self.account_for_invite(&req);
        let Some(account) = self.accounts.get(&account_id) else {
            return reject(self, StatusCode::NOT_FOUND, None, false);
        };
        let settings = account.settings().clone();
        if !settings.enabled {
            return reject(self, StatusCode::TEMPORARILY_UNAVAILABLE, None, false);
        }
        if !settings.policy.permits(&req.head.from.uri.to_string()) {
            reject(self, StatusCode::FORBIDDEN, None, false);
            return self.record_denied_call(&req, &account_id);
        }
        if settings
            .max_calls
            .is_some_and(|m| self.calls_on_account(&account_id) >= m as usize)
        {
            return reject(self, StatusCode::BUSY_HERE, None, false);
        }
        // The offer, if any.
        let offer = if req.body.is_empty() {
            None
        } else if !is_sdp(req.head.content_type.as_deref()) {
            let mut resp = Response::for_request(&req, StatusCode::UNSUPPORTED_MEDIA_TYPE, None);
            resp.head.other.push("Accept", "application/sdp");
            self.add_to_tag(&mut resp);
            return self.respond(tx, resp, now);
        } else {
            match SessionDescription::parse(&req.body) {
                Ok(o) => Some(o),
                Err(e) => {
                    let why = format!("Bad Request - Invalid SDP ({e})");
                    return reject(self, StatusCode::BAD_REQUEST, Some(&why), false);
                }
            }
        };
        let Some(rtp) = self.rtp.allocate() else {
            return reject(
                self,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("No Media Ports"),
                true,
            );
        };
        let media = self.local_media(rtp.port(), &account_id);
        let (local_sdp, our_offer, negotiated) = match &offer {
            Some(offer) => match sdp::answer(offer, &media) {
                Ok((answer, neg)) => (answer.to_string().into_bytes(), None, Some(neg)),
                Err(e) => {
                    let mut resp =
                        Response::for_request(&req, StatusCode::NOT_ACCEPTABLE_HERE, None);
                    resp.head
                        .other
                        .push("Warning", format!("304 callwire \"{e}\""));
                    self.add_to_tag(&mut resp);
                    return self.respond(tx, resp, now);
                }
            },
            None => {
                let o = sdp::build_offer(&media);
                (o.to_string().into_bytes(), Some(o), None)
            }
        };
        let local_tag = dialog::new_tag(&mut self.rng);
        let local = self.local_endpoint(source.transport, Some(&settings.user));
        let dlg = match Dialog::from_uas(&req, &local_tag, &local) {
            Ok(d) => d,
            Err(_) => {
                return reject(
                    self,
                    StatusCode::BAD_REQUEST,
                    Some("Bad Request - Cannot Create Dialog"),
                    false,
                )
            }
        };
        let dialog_id = dlg.id().clone();
        if self.dialogs.insert(dlg).is_err() {
            return reject(
                self,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Too Many Dialogs"),
                true,
            );
        }
        let id = uuid::Uuid::new_v4().to_string();
        let mut call = Call::new(
            id.clone(),
            account_id,
            req.head.from.uri.to_string(),
            req.head.to.uri.to_string(),
            req.head.call_id.clone(),
            &media,
            Leg::Incoming(Box::new(IncomingLeg {
                tx,
                invite: req.clone(),
                dialog: dialog_id.clone(),
                peer: source,
                local_sdp,
                our_offer,
                responder: None,
                answered: false,
            })),
        );
        call.max_duration = policy::max_duration(settings.policy.max_duration_secs, None);
        self.by_dialog.insert(dialog_id.clone(), id.clone());
        self.by_server_tx.insert(tx, id.clone());
        self.insert_call(call);
        self.start_media(&id, rtp);
        if let Some(neg) = negotiated {
            self.set_negotiated(&id, neg);
        }

        self.respond(
            tx,
            Response::for_request(&req, StatusCode::TRYING, None),
            now,
        );
        if let Some(d) = self.dialogs.get_mut(&dialog_id) {
            let ringing = d.response(&req, StatusCode::RINGING);
            self.respond(tx, ringing, now);
        }
        if let Some(c) = self.calls.get_mut(&id) {
            c.state = CallState::Ringing;
        }
        tracing::debug!(call = %id, from = %req.head.from.uri, "incoming call");
        let delay = Duration::from_millis(settings.policy.answer_delay_ms.into());
        if settings.auto_answer && delay.is_zero() {
            // Answering saves the record; one write instead of two.
            self.answer_incoming(&id, now);
        } else if settings.auto_answer {
            // Ring for the account's answer delay first.
            self.save(&id);
            self.set_timer(now + delay, CoreTimer::AnswerDelay(id));
        } else {
            self.save(&id);
            self.set_timer(
                now + self.config.calls.answer_timeout(),
                CoreTimer::AnswerTimeout(id),
            );
        }
    }

    /// Sends the 2xx for an incoming call.
    pub(super) fn answer_incoming(&mut self, id: &str, now: Instant) -> bool {
        let timers = self.responder_timers();
        let Some(call) = self.calls.get_mut(id) else {
            return false;
        };
        let Leg::Incoming(leg) = &mut call.leg else {
            return false;
        };
        if leg.answered || call.state.is_ended() {
            return false;
        }
        let Some(d) = self.dialogs.get_mut(&leg.dialog) else {
            return false;
        };
        let mut ok = d.response(&leg.invite, StatusCode::OK);
        ok.head.content_type = Some("application/sdp".into());
        ok.body = leg.local_sdp.clone();
        ok.head.other.push("Allow", crate::core::ALLOW);
        leg.answered = true;
        leg.responder = Some(UasInviteResponder::new(ok.clone(), now, timers));
        let tx = leg.tx;
        let deadline = leg
            .responder
            .as_ref()
            .and_then(UasInviteResponder::poll_timeout);
        call.state = CallState::Active;
        call.reason = Reason::AcceptedByDevice;
        call.answered_at = Some(Self::now_utc());
        let max_duration = call.max_duration;
        self.clear_timer(&CoreTimer::AnswerTimeout(id.to_owned()));
        self.clear_timer(&CoreTimer::AnswerDelay(id.to_owned()));
        if let Some(max) = max_duration {
            self.set_timer(now + max, CoreTimer::MaxDuration(id.to_owned()));
        }
        self.respond(tx, ok, now);
        if let Some(at) = deadline {
            self.set_timer(at, CoreTimer::Responder(id.to_owned()));
        }
        self.save(id);
        self.push_stream(id);
        true
    }

    /// 2xx retransmission (RFC 3261 §13.3.1.4) until the ACK comes.
    pub(crate) fn on_responder_timeout(&mut self, id: &str, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Leg::Incoming(leg) = &mut call.leg else {
            return;
        };
        let Some(responder) = leg.responder.as_mut() else {
            return;
        };
        let action = responder.handle_timeout(now);
        let next = responder.poll_timeout();
        let peer = leg.peer;
        match action {
            Some(ResponderAction::Retransmit(resp)) => {
                let target = resp
                    .head
                    .top_via()
                    .map(|v| response_target(v, peer.addr, peer.transport))
                    .unwrap_or(peer);
                self.send_stateless_response(&resp, target);
            }
            Some(_) => {
                tracing::info!(call = %id, "no ACK for our 2xx; ending the call");
                let _ = self.send_bye(id, Reason::Failed, now);
            }
            None => {}
        }
        if let Some(at) = next {
            self.set_timer(at, CoreTimer::Responder(id.to_owned()));
        }
    }

    /// ACK for a 2xx (the transaction layer absorbs ACKs for 3xx–6xx).
    pub(crate) fn on_ack(&mut self, req: &Request, _now: Instant) {
        let Some(did) = DialogId::for_incoming_request(req) else {
            return;
        };
        let Some(id) = self.by_dialog.get(&did).cloned() else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Leg::Incoming(leg) = &mut call.leg else {
            return;
        };
        if let Some(r) = leg.responder.as_mut() {
            r.on_ack(req.head.cseq.seq);
        }
        // Late offer: the ACK carries the answer to the offer in our 2xx.
        let mut negotiated = None;
        if let (Some(offer), false) = (&leg.our_offer, req.body.is_empty()) {
            if let Ok(answer) = SessionDescription::parse(&req.body) {
                negotiated = sdp::accept_answer(offer, &answer).ok();
            }
        }
        if let Some(neg) = negotiated {
            self.set_negotiated(&id, neg);
        }
        self.clear_timer(&CoreTimer::Responder(id));
    }

    /// CANCEL of an incoming INVITE.
    pub(crate) fn on_cancel(&mut self, tx: ServerTxId, req: Request, now: Instant) {
        let invite_tx = self.tx.find_invite_for_cancel(&req);
        let call_id = invite_tx.and_then(|t| self.by_server_tx.get(&t).cloned());
        let Some(id) = call_id else {
            let resp = Response::for_request(&req, StatusCode::CALL_DOES_NOT_EXIST, None);
            return self.respond(tx, resp, now);
        };
        let mut ok = Response::for_request(&req, StatusCode::OK, None);
        let mut terminated = None;
        if let Some(call) = self.calls.get_mut(&id) {
            if let Leg::Incoming(leg) = &call.leg {
                ok.head.to.set_tag(&leg.dialog.local_tag);
                if !leg.answered && !call.state.is_ended() {
                    if let Some(d) = self.dialogs.get_mut(&leg.dialog) {
                        terminated = Some((
                            leg.tx,
                            d.response(&leg.invite, StatusCode::REQUEST_TERMINATED),
                        ));
                    }
                }
            }
        }
        self.respond(tx, ok, now);
        if let Some((invite_tx, resp)) = terminated {
            self.respond(invite_tx, resp, now);
            self.end_call(
                &id,
                Reason::Terminated,
                Some((487, "Request Terminated")),
                now,
            );
        }
    }

    /// The incoming call was not answered in time: 480.
    pub(crate) fn on_answer_timeout(&mut self, id: &str, now: Instant) {
        if self.reject_incoming(id, StatusCode::TEMPORARILY_UNAVAILABLE, now) {
            self.end_call(
                id,
                Reason::NoAnswer,
                Some((480, "Temporarily Unavailable")),
                now,
            );
        }
    }

    /// Sends a final failure for an unanswered incoming call; false if not possible.
    pub(super) fn reject_incoming(&mut self, id: &str, status: StatusCode, now: Instant) -> bool {
        let Some(call) = self.calls.get_mut(id) else {
            return false;
        };
        let Leg::Incoming(leg) = &mut call.leg else {
            return false;
        };
        if leg.answered || call.state.is_ended() {
            return false;
        }
        let Some(d) = self.dialogs.get_mut(&leg.dialog) else {
            return false;
        };
        let resp = d.response(&leg.invite, status);
        leg.answered = true;
        let tx = leg.tx;
        self.respond(tx, resp, now);
        true
    }
}
