//! Outgoing calls (UAC): placing the INVITE (checked against the account's
//! policy, perhaps held back until the account registers), provisional and
//! final responses, digest retries, the ring timeout and CANCEL.

use super::*;

impl Core {
    /// `POST /v1/calls`.
    pub(crate) fn place_call(
        &mut self,
        req: PlaceCall,
        target: SipUri,
        resolved: Resolved,
        now: Instant,
    ) -> Result<CallView, EngineError> {
        if self.shutting_down {
            return Err(EngineError::Unavailable("shutting down".into()));
        }
        let account = self.account(&req.account)?;
        let settings = account.settings().clone();
        if !settings.enabled {
            return Err(EngineError::Conflict(format!(
                "account {} is disabled",
                req.account
            )));
        }
        if settings
            .max_calls
            .is_some_and(|m| self.calls_on_account(&req.account) >= m as usize)
        {
            return Err(EngineError::Conflict(format!(
                "account {} is at its max_calls limit",
                req.account
            )));
        }
        if self.active_calls() >= self.config.calls.max_concurrent as usize {
            return Err(EngineError::Unavailable(
                "the service is at its concurrent call limit".into(),
            ));
        }
        settings
            .policy
            .check_callee(&req.account, &target.to_string())?;
        let wait = self.registration_wait(&req.account, req.wait_for_registration_secs)?;
        let Some(addr) = resolved.addrs.first().copied() else {
            return Err(EngineError::InvalidArgument(
                "the callee's host has no address".into(),
            ));
        };
        let peer = Target::new(resolved.transport, addr);
        let rtp = self
            .rtp
            .allocate()
            .ok_or_else(|| EngineError::Unavailable("no free RTP ports".into()))?;
        let local_media = self.local_media(rtp.port(), &req.account);
        let offer = sdp::build_offer(&local_media);

        let local = self.local_endpoint(peer.transport, Some(&settings.user));
        let caller_user = req.caller_user.as_deref().unwrap_or(&settings.user);
        let mut from_uri = SipUri::new(
            Some(caller_user),
            callwire_sip::message::Host::Name(settings.domain.clone()),
            None,
        );
        if settings.domain.parse::<IpAddr>().is_ok() {
            from_uri.host = callwire_sip::message::Host::from(
                settings
                    .domain
                    .parse::<IpAddr>()
                    .map_err(|_| EngineError::InvalidArgument("domain".into()))?,
            );
        }
        let mut from = NameAddr::new(Uri::Sip(from_uri));
        from.display = req
            .caller_name
            .clone()
            .or_else(|| settings.display_name.clone());
        let mut to_uri = target.clone();
        to_uri.headers.clear();
        let to = NameAddr::new(Uri::Sip(to_uri.clone()));
        let mut invite = dialog::new_invite(from, to, Uri::Sip(to_uri), &local, &mut self.rng);
        if let Some(proxy) = settings
            .outbound_proxy
            .as_deref()
            .and_then(|p| crate::core::target::parse_target(p).ok())
        {
            let mut route = proxy;
            route.params.set("lr", None);
            invite.head.route = vec![NameAddr::new(Uri::Sip(route))];
        }
        invite
            .head
            .other
            .push("User-Agent", self.config.user_agent.clone());
        invite.head.other.push("Allow", crate::core::ALLOW);
        for (name, value) in &req.headers {
            invite.head.other.push(name, value.clone());
        }
        invite.head.content_type = Some("application/sdp".into());
        invite.body = offer.to_string().into_bytes();

        // A call waiting for the registration sends its INVITE later.
        let tx = match wait {
            Some(_) => None,
            None => Some(
                self.tx
                    .send_request(invite.clone(), peer, now)
                    .map_err(|e| EngineError::Unavailable(format!("cannot send INVITE: {e}")))?,
            ),
        };
        let id = uuid::Uuid::new_v4().to_string();
        if let Some(tx) = tx {
            self.client_tx.insert(tx, ClientPurpose::Invite(id.clone()));
        }
        let ring = req
            .ring_timeout_secs
            .map(|s| Duration::from_secs(s.into()))
            .unwrap_or(self.config.calls.ring_timeout());
        let mut call = Call::new(
            id.clone(),
            req.account.clone(),
            invite.head.from.uri.to_string(),
            target.to_string(),
            invite.head.call_id.clone(),
            &local_media,
            Leg::Outgoing(Box::new(OutgoingLeg {
                tx,
                ring,
                invite,
                peer,
                dialog: None,
                provisional: false,
                cancel: None,
                cancel_sent: false,
                offer,
                auth: AuthState::new(),
                digest: DigestClient::new(),
                accept_early: !req.refuse_early_media,
                early_answer: None,
            })),
        );
        call.max_duration =
            policy::max_duration(settings.policy.max_duration_secs, req.max_duration_secs);
        let view = call.view();
        self.insert_call(call);
        self.start_media(&id, rtp);
        match wait {
            Some(wait) => self.set_timer(now + wait, CoreTimer::RegistrationWait(id.clone())),
            None => self.set_timer(now + ring, CoreTimer::RingTimeout(id.clone())),
        }
        self.save(&id);
        tracing::debug!(call = %id, to = %target, waiting = wait.is_some(), "outgoing call");
        Ok(view)
    }

    /// A response to our INVITE.
    pub(crate) fn on_invite_response(
        &mut self,
        id: &str,
        tx: ClientTxId,
        resp: Response,
        now: Instant,
    ) {
        let code = resp.status.code();
        if resp.status.is_provisional() {
            return self.on_invite_provisional(id, &resp, now);
        }
        if resp.status.is_success() {
            return self.on_invite_success(id, &resp, now);
        }
        if (code == 401 || code == 407) && self.retry_with_auth(id, tx, &resp, now) {
            return;
        }
        self.on_invite_failed(id, code, &resp.reason, now);
    }

    pub(super) fn on_invite_provisional(&mut self, id: &str, resp: &Response, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Leg::Outgoing(leg) = &mut call.leg else {
            return;
        };
        leg.provisional = true;
        if resp.head.to.tag().is_some() && leg.dialog.is_none() {
            if let Ok(d) = Dialog::from_uac_response(&leg.invite, resp) {
                let did = d.id().clone();
                if self.dialogs.insert(d).is_ok() {
                    leg.dialog = Some(did.clone());
                    self.by_dialog.insert(did, id.to_owned());
                }
            }
        }
        let code = resp.status.code();
        let ringing = (180..=183).contains(&code) && call.state == CallState::Calling;
        if ringing {
            call.state = CallState::Ringing;
        }
        let cancel = leg.cancel.is_some() && !leg.cancel_sent;
        if ringing {
            self.save(id);
        }
        if (180..=189).contains(&code)
            && !resp.body.is_empty()
            && is_sdp(resp.head.content_type.as_deref())
        {
            self.on_early_answer(id, resp);
        }
        if cancel {
            self.send_cancel(id, now);
        }
    }

    pub(super) fn on_invite_success(&mut self, id: &str, resp: &Response, now: Instant) {
        let Some(to_tag) = resp.head.to.tag() else {
            return;
        };
        let Some(Call {
            leg: Leg::Outgoing(leg),
            ..
        }) = self.calls.get(id)
        else {
            return;
        };
        let invite = leg.invite.clone();
        let peer = leg.peer;
        let did = DialogId {
            call_id: resp.head.call_id.clone(),
            local_tag: invite.head.from.tag().unwrap_or_default().to_owned(),
            remote_tag: to_tag.to_owned(),
        };
        // Find or create the dialog for this 2xx's To tag (forks get their own).
        if self.dialogs.get(&did).is_none() {
            let Ok(d) = Dialog::from_uac_response(&invite, resp) else {
                return;
            };
            if self.dialogs.insert(d).is_err() {
                return;
            }
            self.by_dialog.insert(did.clone(), id.to_owned());
        }
        let Some(d) = self.dialogs.get_mut(&did) else {
            return;
        };
        let action = d
            .on_response(resp, &mut self.rng)
            .unwrap_or(ResponseAction::None);
        let (ack, retransmission) = match action {
            ResponseAction::ResendAck(ack) => (ack, true),
            _ => match d.last_ack() {
                Some(ack) if ack.head.cseq.seq == resp.head.cseq.seq => (ack.clone(), true),
                _ => (d.ack_for_2xx(resp.head.cseq.seq, &mut self.rng), false),
            },
        };
        let target = in_dialog_target(d, peer);
        self.send_stateless_request(&ack, target);
        if retransmission {
            return;
        }
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Leg::Outgoing(leg) = &mut call.leg else {
            return;
        };
        if call.answered_at.is_some() {
            // A second fork answered: we keep the first; end this one.
            if let Some(d) = self.dialogs.get_mut(&did) {
                if let Ok(bye) = d.new_request(callwire_sip::message::Method::Bye, &mut self.rng) {
                    if let Ok(tx) = self.tx.send_request(bye, target, now) {
                        self.client_tx
                            .insert(tx, ClientPurpose::InDialog(id.to_owned()));
                    }
                }
            }
            return;
        }
        if let Some(old) = leg.dialog.replace(did.clone()) {
            if old != did {
                self.dialogs.remove(&old);
                self.by_dialog.remove(&old);
            }
        }
        leg.peer = target;
        if call.state.is_ended() || leg.cancel.is_some() {
            // Answered after we gave up: end it properly. The call was never
            // answered as far as the user is concerned, so `answered_at` stays unset.
            let reason = leg.cancel.unwrap_or(Reason::Terminated);
            let _ = self.send_bye(id, reason, now);
            return;
        }
        call.answered_at = Some(Self::now_utc());
        // A 2xx without SDP confirms the answer a 18x brought (RFC 3261 §13.2.1).
        let negotiated = if resp.body.is_empty() {
            leg.early_answer.clone()
        } else {
            SessionDescription::parse(&resp.body)
                .ok()
                .and_then(|a| sdp::accept_answer(&leg.offer, &a).ok())
        };
        match negotiated {
            Some(neg) => {
                call.state = CallState::Active;
                call.reason = Reason::AcceptedByRemote;
                if let Some(max) = call.max_duration {
                    self.set_timer(now + max, CoreTimer::MaxDuration(id.to_owned()));
                }
                self.set_negotiated(id, neg);
                self.clear_timer(&CoreTimer::RingTimeout(id.to_owned()));
                self.save(id);
            }
            None => {
                tracing::info!(call = %id, "2xx without an acceptable SDP answer; hanging up");
                call.sip_status = Some(488);
                call.sip_reason = Some("Not Acceptable Here".into());
                let _ = self.send_bye(id, Reason::Failed, now);
            }
        }
    }

    /// Resends the INVITE with credentials; false when we cannot or should not.
    pub(super) fn retry_with_auth(
        &mut self,
        id: &str,
        _tx: ClientTxId,
        resp: &Response,
        now: Instant,
    ) -> bool {
        let Some(call) = self.calls.get(id) else {
            return false;
        };
        let Some(account) = self.accounts.get(call.account()) else {
            return false;
        };
        let Some(password) = account.password().map(str::to_owned) else {
            return false;
        };
        let settings = account.settings().clone();
        let header = if resp.status.code() == 407 {
            "Proxy-Authenticate"
        } else {
            "WWW-Authenticate"
        };
        let challenges: Vec<Challenge> = resp
            .head
            .other
            .get_all(header)
            .filter_map(|v| Challenge::parse(v).ok())
            .collect();
        let Some(call) = self.calls.get_mut(id) else {
            return false;
        };
        let Leg::Outgoing(leg) = &mut call.leg else {
            return false;
        };
        if leg.cancel.is_some() {
            return false;
        }
        let Some(challenge) = pick_challenge(&challenges) else {
            return false;
        };
        if leg.auth.on_challenge(challenge).is_err() {
            return false;
        }
        let user = settings.auth_user.clone().unwrap_or(settings.user.clone());
        let uri = leg.invite.uri.to_string();
        let Ok(creds) = leg.digest.respond(
            challenge,
            "INVITE",
            &uri,
            &user,
            &password,
            &leg.invite.body,
            &mut self.rng,
        ) else {
            return false;
        };
        let mut invite = leg.invite.clone();
        invite.head.cseq.seq += 1;
        let auth_header = if resp.status.code() == 407 {
            "Proxy-Authorization"
        } else {
            "Authorization"
        };
        invite.head.other.remove(auth_header);
        invite.head.other.push(auth_header, creds.to_string());
        if let Some(via) = invite.head.via.first_mut() {
            via.params
                .set("branch", Some(&txn::new_branch(&mut self.rng)));
        }
        let Ok(tx) = self.tx.send_request(invite.clone(), leg.peer, now) else {
            return false;
        };
        leg.invite = invite;
        leg.tx = Some(tx);
        leg.provisional = false;
        self.client_tx
            .insert(tx, ClientPurpose::Invite(id.to_owned()));
        true
    }

    /// The INVITE failed (final 3xx–6xx, timeout or transport error).
    pub(crate) fn on_invite_failed(&mut self, id: &str, code: u16, reason: &str, now: Instant) {
        let Some(call) = self.calls.get(id) else {
            return;
        };
        let Leg::Outgoing(leg) = &call.leg else {
            return;
        };
        if call.answered_at.is_some() {
            return;
        }
        let ended_reason = leg
            .cancel
            .unwrap_or_else(|| Reason::for_failure_status(code));
        let status = if leg.cancel.is_some() && code == 487 {
            None
        } else {
            Some((code, reason))
        };
        if let Some(did) = leg.dialog.clone() {
            self.dialogs.remove(&did);
        }
        match status {
            Some((c, r)) => self.end_call(id, ended_reason, Some((c, r)), now),
            None => self.end_call(id, ended_reason, Some((487, "Request Terminated")), now),
        }
    }

    /// A response no transaction claimed: 2xx retransmissions for answered calls.
    pub(crate) fn on_stray_response(&mut self, resp: &Response, source: SocketAddr) {
        if !resp.status.is_success() {
            return;
        }
        let Some(d) = self.dialogs.lookup_response(resp) else {
            return;
        };
        if let Ok(ResponseAction::ResendAck(ack)) = d.on_response(resp, &mut self.rng) {
            let target = Target::new(Transport::Udp, source);
            self.send_stateless_request(&ack, target);
        }
    }

    pub(crate) fn on_ring_timeout(&mut self, id: &str, now: Instant) {
        let ringing = self.calls.get(id).is_some_and(|c| {
            matches!(c.state, CallState::Calling | CallState::Ringing)
                && matches!(c.leg, Leg::Outgoing(_))
        });
        if ringing {
            tracing::info!(call = %id, "no answer in time; cancelling");
            self.cancel_outgoing(id, Reason::NoAnswer, now);
        }
    }

    /// Cancels an unanswered outgoing call; the call ends with `reason`.
    pub(super) fn cancel_outgoing(&mut self, id: &str, reason: Reason, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Leg::Outgoing(leg) = &mut call.leg else {
            return;
        };
        leg.cancel = Some(reason);
        if leg.provisional {
            call.state = CallState::Terminating;
            self.call_changed(id);
            self.send_cancel(id, now);
            self.set_timer(now + TERMINATING_GUARD, CoreTimer::Guard(id.to_owned()));
        } else {
            // RFC 3261 §9.1: no CANCEL before a provisional response. End the call
            // now; a late provisional gets its CANCEL, a late 2xx an ACK and a BYE.
            self.end_call(id, reason, None, now);
        }
    }

    pub(super) fn send_cancel(&mut self, id: &str, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Leg::Outgoing(leg) = &mut call.leg else {
            return;
        };
        if leg.cancel_sent {
            return;
        }
        leg.cancel_sent = true;
        let peer = leg.peer;
        let cancel = match txn::cancel_for(&leg.invite) {
            Ok(c) => c,
            Err(e) => return tracing::debug!(call = %id, error = %e, "CANCEL not built"),
        };
        match self.tx.send_request(cancel, peer, now) {
            Ok(tx) => {
                self.client_tx
                    .insert(tx, ClientPurpose::Cancel(id.to_owned()));
            }
            Err(e) => tracing::debug!(call = %id, error = %e, "CANCEL not sent"),
        }
    }
}
