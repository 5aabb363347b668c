//! Hold and resume from our side: a re-INVITE with a new offer (`sendonly` to
//! hold, `sendrecv` to resume), the ACK for its 2xx, the glare retry after 491
//! (RFC 3261 §14.1), and rolling back when the peer refuses.

use callwire_sip::dialog::glare_retry_delay;
use callwire_sip::message::Method;

use super::*;
use crate::core::calls::media::ReInvite;

impl Core {
    /// `POST /v1/calls/{id}/hold` and `/resume`.
    pub(crate) fn set_hold(
        &mut self,
        id: &str,
        hold: bool,
        now: Instant,
    ) -> Result<CallView, EngineError> {
        let call = self.active_call(id)?;
        if call.media.reinvite.is_some() {
            return Err(EngineError::Conflict(
                "a re-INVITE of this call is under way; try again".into(),
            ));
        }
        if call.media.on_hold == hold {
            return self.get_call(id);
        }
        self.send_reinvite(id, hold, now)?;
        self.get_call(id)
    }

    /// Sends a re-INVITE offering `sendonly` (hold) or `sendrecv`.
    fn send_reinvite(&mut self, id: &str, hold: bool, now: Instant) -> Result<(), EngineError> {
        let call = self.calls.get(id).ok_or_else(|| not_found(id))?;
        let peer = call.peer();
        let did = call
            .dialog_id()
            .cloned()
            .ok_or_else(|| EngineError::Conflict("the call has no dialog".into()))?;
        let media = self
            .renewed_local_media(id, hold)
            .ok_or_else(|| not_found(id))?;
        let offer = sdp::build_offer(&media);
        let d = self
            .dialogs
            .get_mut(&did)
            .ok_or_else(|| EngineError::Conflict("the call has no dialog".into()))?;
        let mut invite = d
            .new_request(Method::Invite, &mut self.rng)
            .map_err(|e| EngineError::Conflict(format!("cannot re-INVITE now: {e}")))?;
        invite.head.content_type = Some("application/sdp".into());
        invite.body = offer.to_string().into_bytes();
        invite.head.other.push("Allow", crate::core::ALLOW);
        let target = in_dialog_target(d, peer);
        let tx = self
            .tx
            .send_request(invite, target, now)
            .map_err(|e| EngineError::Unavailable(format!("cannot send re-INVITE: {e}")))?;
        self.client_tx
            .insert(tx, ClientPurpose::ReInvite(id.to_owned()));
        if let Some(call) = self.calls.get_mut(id) {
            // Shown at once; rolled back if the peer refuses.
            call.media.on_hold = hold;
            call.media.reinvite = Some(ReInvite { offer, hold });
        }
        self.call_changed(id);
        Ok(())
    }

    /// A response to our re-INVITE.
    pub(crate) fn on_reinvite_response(&mut self, id: &str, resp: &Response, now: Instant) {
        if !resp.status.is_final() {
            return;
        }
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let peer = call.peer();
        let Some(did) = call.dialog_id().cloned() else {
            return;
        };
        let Some(pending) = call.media.reinvite.take() else {
            // A retransmitted 2xx: the ACK goes again (RFC 3261 §13.2.2.4).
            if resp.status.is_success() {
                if let Some(d) = self.dialogs.get(&did) {
                    if let Some(ack) = d
                        .last_ack()
                        .filter(|a| a.head.cseq.seq == resp.head.cseq.seq)
                        .cloned()
                    {
                        let target = in_dialog_target(d, peer);
                        self.send_stateless_request(&ack, target);
                    }
                }
            }
            return;
        };
        if resp.status.is_success() {
            if let Some(d) = self.dialogs.get_mut(&did) {
                let _ = d.on_response(resp, &mut self.rng);
                let ack = d.ack_for_2xx(resp.head.cseq.seq, &mut self.rng);
                let target = in_dialog_target(d, peer);
                self.send_stateless_request(&ack, target);
            }
            let answer = SessionDescription::parse(&resp.body).ok();
            match answer.and_then(|a| sdp::accept_answer(&pending.offer, &a).ok()) {
                Some(neg) => {
                    if let Some(call) = self.calls.get_mut(id) {
                        call.media.on_hold = pending.hold;
                    }
                    self.set_negotiated(id, neg);
                }
                None => {
                    tracing::info!(call = %id, "re-INVITE answered without a usable SDP; hanging up");
                    let _ = self.send_bye(id, Reason::Failed, now);
                }
            }
            return;
        }
        if let Some(d) = self.dialogs.get_mut(&did) {
            let _ = d.on_response(resp, &mut self.rng);
        }
        match resp.status.code() {
            491 => {
                // Glare: try again after the RFC's random delay.
                let owns = self.dialogs.get(&did).is_some_and(|d| d.owns_call_id());
                let delay = glare_retry_delay(owns, &mut self.rng);
                if let Some(call) = self.calls.get_mut(id) {
                    call.media.glare_retry = Some(pending.hold);
                }
                self.set_timer(now + delay, CoreTimer::ReInviteRetry(id.to_owned()));
            }
            // The dialog is gone on the other side (RFC 3261 §14.1).
            408 | 481 => {
                let _ = self.send_bye(id, Reason::Failed, now);
            }
            // Refused: the old session stays as it was.
            _ => {
                tracing::info!(call = %id, status = resp.status.code(), "re-INVITE refused");
                if let Some(call) = self.calls.get_mut(id) {
                    call.media.on_hold = !pending.hold;
                }
                self.call_changed(id);
            }
        }
    }

    /// Our re-INVITE timed out or could not be sent.
    pub(crate) fn on_reinvite_failure(&mut self, id: &str, now: Instant) {
        if let Some(call) = self.calls.get_mut(id) {
            call.media.reinvite = None;
        }
        let _ = self.send_bye(id, Reason::Failed, now);
    }

    /// The glare delay passed: send the re-INVITE again.
    pub(crate) fn on_reinvite_retry(&mut self, id: &str, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Some(hold) = call.media.glare_retry.take() else {
            return;
        };
        if call.state != CallState::Active || call.media.reinvite.is_some() {
            return;
        }
        if let Err(e) = self.send_reinvite(id, hold, now) {
            tracing::info!(call = %id, error = %e, "re-INVITE retry failed");
        }
    }
}
